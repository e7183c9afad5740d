"""Benchmark: `ru-llm dataset build` (streaming, exact dedup, split, seeded shuffle) on synthetic data.

Compares two ways of doing the same work on the same file, each in its own process so peak memory is
measured separately:

* ``ru_llm``: ``build_dataset`` with the ``file`` builder: validation, structure checks, exact dedup,
  id-hash split, bucketed seeded shuffle, rejects file and card;
* ``naive``: read every line into memory, ``json.loads``, dedup on a ``json.dumps`` key, sort by a
  seeded hash, write: the usual one-off script, with no validation and no rejects.

Prints JSON: conversations/s for both, their ratio, and peak RSS. Target: ru_llm >= 20,000 conv/s.

    uv run python bench/dataset_build.py [--n 250000] [--dup-share 0.05]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [
    "модель",
    "данные",
    "перевод",
    "ответ",
    "вопрос",
    "русский",
    "язык",
    "текст",
    "обучение",
    "пример",
    "задача",
    "город",
]


def make_input(path: Path, n: int, dup_share: float, seed: int = 0) -> int:
    """``n`` conversations (1-3 turns, 20-80 words a reply), ``dup_share`` of them exact repeats."""
    rng = random.Random(seed)
    unique = []
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            if unique and rng.random() < dup_share:
                messages = rng.choice(unique)
            else:
                messages = []
                for _ in range(rng.randint(1, 3)):
                    messages.append({"role": "user", "content": " ".join(rng.choices(WORDS, k=rng.randint(5, 20)))})
                    messages.append(
                        {"role": "assistant", "content": " ".join(rng.choices(WORDS, k=rng.randint(20, 80)))}
                    )
                if len(unique) < 10_000:
                    unique.append(messages)
            record = {"id": f"syn-{i:07d}", "messages": messages, "source": "synthetic", "lang": "ru",
                      "license": "CC0-1.0", "meta": {}}  # fmt: skip
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return n


def run_ru_llm(data: Path, out: Path) -> dict:
    from ru_llm.dataset.build import build_dataset
    from ru_llm.dataset.recipe import parse_recipe

    recipe = parse_recipe(
        {"sources": [{"file": str(data), "options": {"license": "CC0-1.0", "commercial": True}}], "validation": 0.01}
    )
    start = time.perf_counter()
    report = build_dataset(recipe, out)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "records_in": report.records_in, "kept": report.kept, "rejected": report.rejected}


def run_naive(data: Path, out: Path) -> dict:
    start = time.perf_counter()
    with open(data, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    seen, kept = set(), []
    for record in records:
        key = json.dumps(record["messages"], ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            kept.append(record)
    kept.sort(key=lambda r: hashlib.blake2b(f"42\x00{r['id']}".encode(), digest_size=8).digest())
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "train.jsonl", "w", encoding="utf-8") as f:
        for record in kept:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "records_in": len(records), "kept": len(kept), "rejected": len(records) - len(kept)}


def child(way: str, data: str, out: str) -> None:
    result = {"ru_llm": run_ru_llm, "naive": run_naive}[way](Path(data), Path(out))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=250_000)
    parser.add_argument("--dup-share", type=float, default=0.05)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "synthetic.jsonl"
        make_input(data, args.n, args.dup_share)
        results = {}
        for way in ("ru_llm", "naive"):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", way, str(data), str(Path(tmp) / way)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            results[way] = json.loads(proc.stdout.strip().splitlines()[-1])
        for r in results.values():
            r["conversations_per_s"] = round(r["records_in"] / r["seconds"])
        report = {
            "benchmark": "dataset_build",
            "n": args.n,
            "input_mb": round(data.stat().st_size / 1e6, 1),
            "ru_llm": results["ru_llm"],
            "naive": results["naive"],
            "speed_ratio_ru_llm_vs_naive": round(results["naive"]["seconds"] / results["ru_llm"]["seconds"], 3),
            "memory_ratio_ru_llm_vs_naive": round(
                results["ru_llm"]["peak_rss_mb"] / results["naive"]["peak_rss_mb"], 3
            ),
            "target_conversations_per_s": 20_000,
            "meets_target": results["ru_llm"]["conversations_per_s"] >= 20_000,
        }  # fmt: skip
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
