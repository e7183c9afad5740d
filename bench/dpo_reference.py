"""Benchmark: full-parameter DPO with the reference model kept in memory against precomputed reference
log-probabilities (``dpo.precompute_reference``), same model, same pairs, same steps.

TRL's DPOTrainer needs the reference model's log-probabilities of every chosen and rejected reply. Kept
in memory, the reference is a second copy of the weights, and every step runs it forward on the batch;
precomputed, one pass over the data before training gives the numbers and no second copy stays. With
AdamW in fp32 the policy costs about 16 bytes per parameter (weights, gradients, two moments), so the
reference copy (4 bytes) is about a fifth of the training state; on a GPU with a bf16 reference and
offloaded optimizer state it is a larger share. The issue asks for the option "to halve memory": this
measures what it saves on this machine.

Each way runs ``ru-llm train run`` in its own process (peak resident memory is the process's
``ru_maxrss``), on a LLaMA model built here with random weights (``--hidden``, ``--layers``, the
LLaMA-2 tokenizer's 32,000-token vocabulary) and ``--pairs`` real preference pairs from the bundled
OASST trees (human-ranked sibling replies: best = chosen, worst = rejected). The two runs alternate
``--repeats`` times and the lower peak and time of each way are kept (the machine is shared).
``--tokenizer`` swaps in another LLaMA-layout tokenizer directory (the test passes a 1,000-piece one to
exercise the script in seconds; its numbers say nothing about real vocabularies). ``--children fork`` (the
test's choice too) forks each run from this process, which imported the libraries once, instead of starting
a fresh one; each run's peak then starts from this process's resident size (the same base both ways).

    uv run python bench/dpo_reference.py [--hidden 512] [--layers 8] [--pairs 16] [--steps 4] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

RUN = """
import json, resource, sys, time
from ru_llm.train.configfile import resolve_config
from ru_llm.train.run import train
config, _ = resolve_config(sys.argv[1])
start = time.perf_counter()
result = train(config, progress=False, overwrite=True)
print(json.dumps({"seconds": time.perf_counter() - start, "steps": result.steps,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "final": result.final}))
"""


LLAMA2 = REPO / "tests" / "data" / "tokenizers" / "llama2"


def build_model(out: Path, hidden: int, layers: int, tokenizer_dir: Path = LLAMA2) -> int:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 3,
        num_hidden_layers=layers, num_attention_heads=max(1, hidden // 64), num_key_value_heads=max(1, hidden // 64),
        max_position_embeddings=1024, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def run_in_this_process(config: Path) -> dict[str, Any]:
    """What RUN does, for a forked child."""
    import time

    from ru_llm.train.configfile import resolve_config
    from ru_llm.train.run import train

    resolved, _ = resolve_config(config)
    start = time.perf_counter()
    result = train(resolved, progress=False, overwrite=True)
    return {
        "seconds": time.perf_counter() - start,
        "steps": result.steps,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "final": result.final,
    }


def run_once(config: Path, children: str = "spawn") -> dict[str, Any]:
    if children == "fork":
        from kit.fork_call import call_forked

        return call_forked(run_in_this_process, config)
    env = {**os.environ, "RU_LLM_DEBUG": "1"}
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(config)], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().split("\n")[-1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """The benchmark on ``argv`` (else the command line); prints the JSON report and returns it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tokenizer", type=Path, default=LLAMA2, help="a LLaMA-layout tokenizer directory")
    parser.add_argument(
        "--children", choices=("spawn", "fork"), default="spawn",
        help="fork: each run is forked from this process (one import of the libraries; for tests)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.children == "fork":
        import torch
        from trl import DPOTrainer  # noqa: F401  (trl imports lazily: `import trl` alone left ~8 CPU-s to each run)

        import ru_llm.train.run  # noqa: F401  (imported once, for every run)

        torch.set_num_threads(1)  # an OpenMP pool started before a fork can hang the child

    import yaml
    from kit.train_data import oasst_preference_pairs, write_jsonl

    with tempfile.TemporaryDirectory(prefix="bench-dpo-") as tmp:
        work = Path(tmp)
        parameters = build_model(work / "model", args.hidden, args.layers, args.tokenizer)
        pairs = oasst_preference_pairs(args.pairs)
        data = write_jsonl(work / "pairs.jsonl", pairs)
        configs = {}
        for way, precompute in (("reference_model", False), ("precomputed", True)):
            values = {
                "strategy": "dpo", "model": str(work / "model"), "data": str(data), "template": "llama2",
                "output_dir": str(work / way), "max_length": args.max_length, "max_steps": args.steps,
                "batch_size": 2, "logging_steps": 1, "device": "cpu", "save_steps": 0,
                "optimizer": {"lr": 1e-5}, "dpo": {"method": "full", "precompute_reference": precompute},
            }  # fmt: skip
            configs[way] = work / f"{way}.yaml"
            configs[way].write_text(yaml.safe_dump(values), encoding="utf-8")
        results: dict[str, list[dict[str, Any]]] = {way: [] for way in configs}
        for _ in range(args.repeats):
            for way, config in configs.items():
                results[way].append(run_once(config, args.children))
                print(f"{way}: {results[way][-1]['peak_rss_mb']:.0f} MB, {results[way][-1]['seconds']:.1f} s")
    best = {
        way: {
            "peak_rss_mb": round(min(r["peak_rss_mb"] for r in runs), 1),
            "seconds": round(min(r["seconds"] for r in runs), 2),
            "final_train_loss": runs[-1]["final"].get("train_loss"),
        }
        for way, runs in results.items()
    }
    weights_mb = parameters * 4 / 2**20
    report = {
        "benchmark": "dpo_reference",
        "machine": f"{os.cpu_count()} CPUs, no GPU" if not _cuda() else "CUDA",
        "parameters": parameters,
        "vocabulary": "LLaMA-2" if args.tokenizer == LLAMA2 else str(args.tokenizer),
        "children": args.children,
        "weights_fp32_mb": round(weights_mb, 1),
        "pairs": len(pairs),
        "steps": args.steps,
        "max_length": args.max_length,
        **best,
        "saved_mb": round(best["reference_model"]["peak_rss_mb"] - best["precomputed"]["peak_rss_mb"], 1),
        "peak_rss_ratio": round(best["precomputed"]["peak_rss_mb"] / best["reference_model"]["peak_rss_mb"], 3),
        "time_ratio": round(best["precomputed"]["seconds"] / best["reference_model"]["seconds"], 3),
    }
    print(json.dumps(report), flush=True)
    return report


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
