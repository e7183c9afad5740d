"""Benchmark: training on packed sequences against padded batches, same model, same samples.

The workload has real instruction-data lengths: the 20 bundled OASST trees (their threads, through the
``oasst1`` builder) and the bundled Dolly rows are encoded with the real LLaMA-2 tokenizer and the
``llama2`` template (assistant-only labels, whole-turn truncation at ``--max-length``), and
``--samples`` samples are drawn from them with replacement. Two ways train on that workload with real
steps (forward, backward, grad clipping, AdamW) in fp32, each with its own copy of the same model:

* ``padded``: shuffled samples, ``--batch-size`` per step, ``PaddedCollator`` (what ``packing: false``
  trains on);
* ``packed``: ``pack_samples`` (best-fit decreasing) at ``--max-length``, shuffled packs,
  ``--batch-size`` packs per step, ``PackedCollator`` (what ``packing: true`` trains on).

Each way trains until it has seen ``--tokens`` non-padding tokens (0: the whole workload once), after one
untimed warm-up step. Speed is timed with both ways in one process, their steps interleaved (the way
furthest behind goes next), so that load from other processes on a shared machine falls on both alike;
run one after the other, the wall-clock ratio swung from 1.26 to 1.80 between two runs on a busy
2-core machine while the CPU-time ratio stayed at 2.01. Reported per way: non-padding tokens per
second (wall and CPU time), padding fraction, peak memory; for packing the fill rate; and the padding
fractions and fill rate over the whole workload. ``padded_vs_packed_positions_per_token_ratio`` is the
speed-up packing would give if a step cost were proportional to the positions computed, padding
included.

Models (``--model``), both LLaMA with the real 32,000-token vocabulary, random weights:

* ``tiny`` (default): ``build_tiny_model("llama")`` from tests/kit (hidden 16, 2 layers), its context
  raised to ``--max-length`` (RoPE: no learned positions). The 32k-way logits and loss dominate its step
  (~8x the attention multiply-adds at 1024 tokens), so the cost is linear in positions, as in a real 7B
  model whose matmuls dwarf attention at these lengths, and a step takes seconds, so Python overhead
  is noise. It runs at ~1,700 positions/s on 2 CPU cores.
* ``small``: hidden 256, 4 layers, 4 heads, built here: more of the step in the body and attention;
  ~3x slower on CPU (meant for ``--device cuda`` or patient runs).

Peak memory: each way in a fresh process takes a small step (creating the AdamW state) and then its
largest step (rows x width) of the timed run, which sets the peak; reported as ``ru_maxrss`` on CPU
(torch allocations are invisible to tracemalloc), ``torch.cuda.max_memory_allocated`` on CUDA.
Target (issue 9): packed >= 2x padded tokens/s. ``--children fork`` (the test's choice) forks the three
child runs from this process instead of starting fresh ones: no import of torch and transformers per child,
and each way's peak then starts from this process's resident size (the same base for both ways).

    uv run python bench/train_packing.py [--samples 400] [--max-length 1024] [--batch-size 8]
        [--tokens 32000] [--model tiny|small] [--device cpu|cuda] [--children spawn|fork]
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

TOKENIZER = REPO / "tests" / "data" / "tokenizers" / "llama2"
TEMPLATE = "llama2"
SMALL = {
    "hidden_size": 256,
    "intermediate_size": 688,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
}
TARGET = 2.0


# -- model ------------------------------------------------------------------------------------------
def build_model(kind: str, out: Path, max_length: int) -> Path:
    """A random LLaMA with the LLaMA-2 tokenizer, its context at least ``max_length``."""
    if kind == "tiny":
        from kit.tiny_models import build_tiny_model

        build_tiny_model("llama", out)
        config_file = out / "config.json"
        config = json.loads(config_file.read_text(encoding="utf-8"))
        config["max_position_embeddings"] = max(config["max_position_embeddings"], max_length)
        config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
        return out
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=max(2048, max_length),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **SMALL,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


# -- workload ---------------------------------------------------------------------------------------
def real_samples(tokenizer: Any, max_length: int) -> tuple[list[Any], dict[str, Any]]:
    """OASST threads and Dolly rows encoded as training samples (real lengths)."""
    from kit.train_data import dolly_conversations, oasst_conversations

    from ru_llm.core.conversation import Conversation
    from ru_llm.dataset.templates.hf import resolve_template
    from ru_llm.train.data.encode import ConversationEncoder, EncodeStats, encode_all

    convs = oasst_conversations() + [Conversation.from_dict(d) for d in dolly_conversations()]
    encoder = ConversationEncoder(resolve_template(TEMPLATE, tokenizer), tokenizer, max_length=max_length)
    stats = EncodeStats()
    samples = encode_all(convs, encoder, on_reject=lambda reject: None, stats=stats)
    return samples, stats.to_dict()


def draw_workload(samples: list[Any], n: int, seed: int) -> list[Any]:
    """``n`` samples drawn with replacement from the real ones (their empirical length distribution)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [replace(samples[int(i)], id=f"w{k}") for k, i in enumerate(rng.integers(0, len(samples), size=n))]


def make_batches(mode: str, samples: list[Any], batch_size: int, max_length: int, seed: int) -> list[list[Any]]:
    """Shuffled batches of samples (padded) or of best-fit-decreasing packs (packed)."""
    import numpy as np

    from ru_llm.train.data.packing import pack_samples

    items: list[Any] = samples if mode == "padded" else pack_samples(samples, max_length)
    order = np.random.default_rng(seed + 1).permutation(len(items))
    shuffled = [items[int(i)] for i in order]
    return [shuffled[i : i + batch_size] for i in range(0, len(shuffled), batch_size)]


def collator(mode: str, pad_id: int) -> Any:
    from ru_llm.train.data.collate import PackedCollator, PaddedCollator

    return PaddedCollator(pad_id) if mode == "padded" else PackedCollator(pad_id)


def batch_counts(batch: list[Any], inputs: dict[str, Any]) -> tuple[int, int, int]:
    """(non-padding tokens, positions computed, trained tokens) of one collated batch."""
    tokens = sum(len(item) for item in batch)
    return tokens, int(inputs["input_ids"].numel()), int((inputs["labels"] != -100).sum())


def workload_stats(samples: list[Any], batch_size: int, max_length: int, seed: int, pad_id: int) -> dict[str, Any]:
    """Padding of both ways and pack fill over the whole workload (no model needed)."""
    stats: dict[str, Any] = {
        "samples": len(samples),
        "tokens": sum(len(s) for s in samples),
        "trained_tokens": sum(s.trained_tokens for s in samples),
    }
    for mode in ("padded", "packed"):
        batches = make_batches(mode, samples, batch_size, max_length, seed)
        collate = collator(mode, pad_id)
        positions = sum(batch_counts(b, collate(b))[1] for b in batches)
        stats[f"{mode}_batches"] = len(batches)
        stats[f"{mode}_padding_fraction"] = round(1 - stats["tokens"] / positions, 4)
        stats[f"{mode}_positions"] = positions
        if mode == "packed":
            packs = sum(len(b) for b in batches)
            stats["packs"] = packs
            stats["samples_per_pack"] = round(len(samples) / packs, 2)
            stats["pack_fill_rate"] = round(stats["tokens"] / (packs * max_length), 4)
    stats["padded_vs_packed_positions_per_token_ratio"] = round(
        stats["padded_positions"] / stats["packed_positions"], 3
    )
    return stats


def length_summary(samples: list[Any]) -> dict[str, float]:
    import numpy as np

    lengths = np.array([len(s) for s in samples])
    return {
        "min": int(lengths.min()),
        "median": float(np.median(lengths)),
        "mean": round(float(lengths.mean()), 1),
        "p90": float(np.percentile(lengths, 90)),
        "max": int(lengths.max()),
    }


# -- training, in child processes -------------------------------------------------------------------
class Way:
    """One way of training: its own model, optimizer, collator and batches."""

    def __init__(self, mode: str, work: Path, args: argparse.Namespace, pad_id: int, samples: list[Any]) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        self.mode, self.device = mode, args.device
        self.batches = trained_prefix(
            make_batches(mode, samples, args.batch_size, args.max_length, args.seed), args.tokens
        )
        self.collate = collator(mode, pad_id)
        torch.manual_seed(args.seed)
        self.model = AutoModelForCausalLM.from_pretrained(work / "model", dtype=torch.float32).to(args.device)
        self.model.config.use_cache = False
        self.model.train()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4)
        self.done = 0
        self.totals = {
            "tokens": 0,
            "trained_tokens": 0,
            "positions": 0,
            "samples_trained": 0,
            "seconds": 0.0,
            "cpu_seconds": 0.0,
        }
        self.losses: list[float] = []

    def step(self, batch: list[Any]) -> tuple[float, tuple[int, int, int]]:
        """Collate, forward, backward, clip, AdamW: what a Trainer step does."""
        import torch

        inputs = self.collate(batch)
        counts = batch_counts(batch, inputs)
        inputs = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
        loss = self.model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.item()), counts  # .item() waits for the device

    def timed_step(self) -> None:
        batch = self.batches[self.done]
        wall, cpu = time.perf_counter(), time.process_time()
        loss, (tokens, positions, trained) = self.step(batch)
        self.totals["seconds"] += time.perf_counter() - wall
        self.totals["cpu_seconds"] += time.process_time() - cpu
        self.totals["tokens"] += tokens
        self.totals["positions"] += positions
        self.totals["trained_tokens"] += trained
        self.totals["samples_trained"] += sum(len(getattr(item, "sample_ids", [item])) for item in batch)
        self.losses.append(loss)
        self.done += 1

    @property
    def finished(self) -> bool:
        return self.done == len(self.batches)

    def result(self) -> dict[str, Any]:
        t = self.totals
        return {
            "steps": self.done,
            **{k: round(v, 3) if isinstance(v, float) else v for k, v in t.items()},
            "padding_fraction": round(1 - t["tokens"] / t["positions"], 4),
            "tokens_per_s": round(t["tokens"] / t["seconds"], 1),
            "tokens_per_cpu_s": round(t["tokens"] / t["cpu_seconds"], 1),
            "mean_loss": round(sum(self.losses) / len(self.losses), 4),
        }


def trained_prefix(batches: list[list[Any]], tokens: int) -> list[list[Any]]:
    """The batches trained before ``tokens`` non-padding tokens are reached (all of them for 0)."""
    seen = 0
    for i, batch in enumerate(batches):
        if tokens and seen >= tokens:
            return batches[:i]
        seen += sum(len(item) for item in batch)
    return batches


def load_workload(work: Path) -> tuple[list[Any], int]:
    return pickle.loads((work / "workload.pkl").read_bytes()), json.loads((work / "pad.json").read_text())["pad_id"]


def speed_child(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Both ways in one process, steps interleaved so machine load falls on both alike."""
    import torch

    samples, pad_id = load_workload(work)
    ways = [Way(mode, work, args, pad_id, samples) for mode in ("padded", "packed")]
    for way in ways:
        way.step(way.batches[0])  # warm-up, untimed: optimizer state, allocator, kernels
    while not all(way.finished for way in ways):
        # the way furthest behind in its share of the budget goes next
        way = min((w for w in ways if not w.finished), key=lambda w: w.done / len(w.batches))
        way.timed_step()
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    return {way.mode: way.result() for way in ways}


def memory_child(mode: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Peak memory of one way in a fresh process: its widest step, with optimizer state in place."""
    import torch

    samples, pad_id = load_workload(work)
    way = Way(mode, work, args, pad_id, samples)
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    by_size = sorted(way.batches, key=lambda b: len(b) * max(len(item) for item in b))
    way.step(by_size[0])  # the smallest step creates the AdamW state
    way.step(by_size[-1])  # peak memory grows with batch rows x width: the largest step sets it
    result = {
        "rss_after_load_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.device.startswith("cuda"):
        result["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return result


def run_child(what: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    if args.children == "fork":
        from kit.fork_call import call_forked

        return call_forked(speed_child, work, args) if what == "speed" else call_forked(memory_child, what, work, args)
    command = [
        sys.executable,
        __file__,
        "--child",
        what,
        str(work),
        "--device",
        args.device,
        "--batch-size",
        str(args.batch_size),
        "--max-length",
        str(args.max_length),
        "--tokens",
        str(args.tokens),
        "--seed",
        str(args.seed),
    ]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{what} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the comparison -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict[str, Any]:
    """The benchmark on ``argv`` (else the command line); prints the JSON report and returns it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400, help="workload size (drawn from the real samples)")
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=8, help="samples (padded) or packs (packed) per step")
    parser.add_argument("--tokens", type=int, default=32_000, help="non-padding tokens per way; 0: whole workload")
    parser.add_argument("--model", choices=["tiny", "small"], default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--children", choices=("spawn", "fork"), default="spawn",
        help="fork: the child runs are forked from this process (one import of the libraries; for tests)",
    )  # fmt: skip
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        what, work = args.child
        result = speed_child(Path(work), args) if what == "speed" else memory_child(what, Path(work), args)
        print(json.dumps(result))
        return result

    import torch
    from transformers import AutoConfig, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        sys.exit("--device cuda: this machine has no CUDA GPU")
    if args.children == "fork":
        if cuda:
            sys.exit("--children fork: CPU only (CUDA does not survive a fork)")
        torch.set_num_threads(1)  # an OpenMP pool started before a fork can hang the child
        import transformers.models.llama.modeling_llama  # noqa: F401  (imported once, for every child)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = build_model(args.model, work / "model", args.max_length)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        real, encode_stats = real_samples(tokenizer, args.max_length)
        workload = draw_workload(real, args.samples, args.seed)
        (work / "workload.pkl").write_bytes(pickle.dumps(workload))
        (work / "pad.json").write_text(json.dumps({"pad_id": pad_id}))
        config = AutoConfig.from_pretrained(model_dir)
        speed = run_child("speed", work, args)
        memory = {mode: run_child(mode, work, args) for mode in ("padded", "packed")}
        whole = workload_stats(workload, args.batch_size, args.max_length, args.seed, pad_id)

    padded, packed = ({**speed[mode], **memory[mode]} for mode in ("padded", "packed"))
    memory_key = "peak_cuda_mb" if cuda else "peak_rss_mb"
    ratio = round(packed["tokens_per_s"] / padded["tokens_per_s"], 3)
    report = {
        "benchmark": "train_packing",
        "model": args.model,
        "model_config": {
            "architecture": config.model_type,
            "hidden_size": config.hidden_size,
            "layers": config.num_hidden_layers,
            "vocab_size": config.vocab_size,
        },
        "tokenizer": TOKENIZER.name,
        "template": TEMPLATE,
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "dtype": "float32",
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "token_budget": args.tokens or "whole workload",
        "source": {
            "conversations": "20 OASST en trees (threads) + bundled Dolly rows",
            **encode_stats,
            "lengths": length_summary(real),
        },
        "workload": {**whole, "lengths": length_summary(workload)},
        "padded": padded,
        "packed": packed,
        "timing": "both ways in one process, steps interleaved; one untimed warm-up step each",
        "memory_measure": "torch.cuda.max_memory_allocated"
        if cuda
        else f"ru_maxrss of a {'forked' if args.children == 'fork' else 'fresh'} process per way",
        "children": args.children,
        "padded_padding_fraction": padded["padding_fraction"],
        "packed_padding_fraction": packed["padding_fraction"],
        "pack_fill_rate": whole["pack_fill_rate"],
        "packed_vs_padded_tokens_per_s_ratio": ratio,
        "packed_vs_padded_tokens_per_cpu_s_ratio": round(packed["tokens_per_cpu_s"] / padded["tokens_per_cpu_s"], 3),
        "padded_vs_packed_positions_per_token_ratio": round(
            (padded["positions"] / padded["tokens"]) / (packed["positions"] / packed["tokens"]), 3
        ),
        "packed_vs_padded_peak_memory_ratio": round(packed[memory_key] / padded[memory_key], 3),
        "target_packed_vs_padded_tokens_per_s": TARGET,
        "meets_target": ratio >= TARGET,
    }
    print(json.dumps(report), flush=True)
    return report


if __name__ == "__main__":
    main()
