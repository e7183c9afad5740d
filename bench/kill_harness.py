"""Kill harness: SIGKILL a run at each phase, rerun it, and compare with an uninterrupted run.

For each strategy (``lora``, ``full``, ``dpo``; a tiny random LLaMA, 6 steps, a checkpoint every 3) the
uninterrupted run is made once; then for each phase of ``tests/kit/crash.py`` (first step, mid-step,
mid-checkpoint-save, mid-checkpoint-publish, mid-final-save, mid-final-publish) a fresh run is started
in a child process that SIGKILLs itself at that phase, and the same command is run again (in a child
process too, as a user would). ``train merge`` and ``train lep`` are killed after their weights are
written and rerun. A phase counts as recovered when the rerun exits 0, the output is marked finished,
and its weights equal the uninterrupted run's; the largest absolute weight difference is reported.

Prints one JSON object (last line): per strategy and phase ``{"killed", "recovered", "max_weight_diff"}``,
and totals ``kills``, ``recovered``, ``max_weight_diff`` and ``recovered_vs_kills_ratio``.

    uv run python bench/kill_harness.py [--strategies lora,full,dpo] [--phases first-step,...] [--no-tools]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from kit.crash import TRAIN_PHASES, max_difference, run_killed, weights  # noqa: E402
from kit.launch import LAUNCH_VARS  # noqa: E402
from kit.train_data import dolly_conversations, oasst_preference_pairs, write_jsonl  # noqa: E402


def ru_llm(*args: Any, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    env.update(COLUMNS="200", OMP_NUM_THREADS="1", DS_ACCELERATOR="cpu")
    command = [sys.executable, "-m", "ru_llm.cli.main", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)


def write_config(path: Path, model: Path, data: Path, out: Path, strategy: str) -> Path:
    import yaml

    config: dict[str, Any] = {
        "strategy": "lora" if strategy == "lora" else strategy,
        "model": str(model),
        "data": str(data),
        "output_dir": str(out),
        "max_length": 256,
        "max_steps": 6,
        "save_steps": 3,
        "batch_size": 1,
        "logging_steps": 1,
        "optimizer": {"lr": 1e-2 if strategy != "full" else 1e-3, "scheduler": "constant"},
        "lora": {"r": 4, "alpha": 8, "dropout": 0.1},
        "device": "cpu",
    }
    if strategy == "dpo":
        config["dpo"] = {"beta": 0.1}
        config["batch_size"] = 2
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def finished(out: Path) -> bool:
    from ru_llm.train.checkpoints import is_finished

    return is_finished(out)


def train_matrix(work: Path, model: Path, strategies: list[str], phases: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    conversations = write_jsonl(work / "conversations.jsonl", dolly_conversations())
    short = [p for p in oasst_preference_pairs() if sum(len(m["content"]) for m in p["messages"]) < 150][:8]
    pairs = write_jsonl(work / "pairs.jsonl", short)
    for strategy in strategies:
        data = pairs if strategy == "dpo" else conversations
        reference = work / f"{strategy}-reference"
        done = ru_llm(
            "train", "run", write_config(work / f"{strategy}.yaml", model, data, reference, strategy), cwd=work
        )
        if done.returncode != 0:
            raise SystemExit(f"{strategy}: the uninterrupted run failed:\n{done.stderr[-3000:]}")
        expected = weights(reference)
        for phase in phases:
            out = work / f"{strategy}-{phase}"
            config = write_config(work / f"{strategy}-{phase}.yaml", model, data, out, strategy)
            started = time.perf_counter()
            run_killed(phase, "train", "run", config, cwd=work)
            again = ru_llm("train", "run", config, cwd=work)
            ok = again.returncode == 0 and finished(out)
            diff = max_difference(weights(out), expected) if ok else None
            results[f"{strategy}/{phase}"] = {
                "killed": 1,
                "recovered": int(ok and diff == 0.0),
                "max_weight_diff": diff,
                "seconds": round(time.perf_counter() - started, 1),
                **({} if ok else {"error": (again.stderr or again.stdout)[-400:]}),
            }
            print(json.dumps({f"{strategy}/{phase}": results[f"{strategy}/{phase}"]}), flush=True)
    return results


def tool_matrix(work: Path, model: Path) -> dict[str, Any]:
    """``train merge`` and ``train lep`` killed after their weights are written, then rerun."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ru_llm.tokenize.resize import resize_model

    results: dict[str, Any] = {}
    adapter = work / "lora-reference"
    if not (adapter / "adapter_config.json").is_file():
        return results
    commands = {"merge": ["train", "merge", adapter]}
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.add_tokens(["привет", "спасибо"])
    tokenizer.save_pretrained(work / "ru-tokenizer")
    resize_model(model, work / "ru-tokenizer", work / "adapted")
    instruct = AutoModelForCausalLM.from_pretrained(model)
    with torch.no_grad():
        instruct.get_input_embeddings().weight.mul_(1.1)
    instruct.save_pretrained(work / "instruct")
    AutoTokenizer.from_pretrained(model).save_pretrained(work / "instruct")
    commands["lep"] = ["train", "lep", "--base", model, "--instruct", work / "instruct", "--adapted-base",
                       work / "adapted", "--mode", "conversion"]  # fmt: skip
    for phase, args in commands.items():
        reference, out = work / f"{phase}-reference", work / f"{phase}-killed"
        done = ru_llm(*args, "--out", reference, cwd=work)
        if done.returncode != 0:
            raise SystemExit(f"{phase}: the uninterrupted run failed:\n{done.stderr[-3000:]}")
        run_killed(phase, *args, "--out", out, cwd=work)
        again = ru_llm(*args, "--out", out, cwd=work)
        ok = again.returncode == 0 and (out / "config.json").is_file()
        diff = max_difference(weights(out), weights(reference)) if ok else None
        results[phase] = {"killed": 1, "recovered": int(ok and diff == 0.0), "max_weight_diff": diff}
        print(json.dumps({phase: results[phase]}), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strategies", default="lora,full,dpo")
    parser.add_argument("--phases", default=",".join(TRAIN_PHASES))
    parser.add_argument("--no-tools", action="store_true", help="skip train merge and train lep")
    args = parser.parse_args()
    from kit.tiny_models import build_tiny_model

    with tempfile.TemporaryDirectory(prefix="kill-harness-") as tmp:
        work = Path(tmp)
        model = build_tiny_model("llama", work / "tiny-llama")
        results = train_matrix(work, model, args.strategies.split(","), args.phases.split(","))
        if not args.no_tools:
            results.update(tool_matrix(work, model))
    diffs = [r["max_weight_diff"] for r in results.values() if r["max_weight_diff"] is not None]
    kills = sum(r["killed"] for r in results.values())
    recovered = sum(r["recovered"] for r in results.values())
    print(
        json.dumps(
            {
                "bench": "kill_harness",
                "machine": f"{os.cpu_count()} CPU cores",
                "results": results,
                "kills": kills,
                "recovered": recovered,
                "max_weight_diff": max(diffs) if diffs else None,
                "recovered_vs_kills_ratio": recovered / kills if kills else None,
            }
        )
    )


if __name__ == "__main__":
    main()
