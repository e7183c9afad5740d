"""Benchmark: how fast a typical command-line mistake answers, against `ru-llm --help`, in one run.

Each mistake of ``tests/kit/early_errors.py`` (missing model, data or tokenizer, a used output directory,
a bad config key, an unknown template or task, a missing recipe) and ``ru-llm --help`` run in fresh
interpreters, interleaved round by round (so load from other processes falls on all alike); the median
of ``--rounds`` runs is reported per case, with the heavy libraries it had imported when it answered.
``max_error_vs_help_time_ratio`` is the slowest mistake's median over the median of ``--help``
(target, issue 22: at most 2).

    uv run python bench/cli_errors.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from kit.early_errors import mistakes, run
from kit.tiny_models import build_tiny_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cli-errors-") as tmp:
        root = Path(tmp)
        cases = {"--help": ["--help"], **mistakes(root, build_tiny_model("llama", root / "tiny-llama"))}
        seconds: dict[str, list[float]] = {name: [] for name in cases}
        heavy: dict[str, list[str]] = {}
        for _ in range(args.rounds):
            for name, argv in cases.items():
                result = run(argv, cwd=root)
                seconds[name].append(result["seconds"])
                heavy[name] = result["heavy"]
    median = {name: statistics.median(values) for name, values in seconds.items()}
    help_s = median.pop("--help")
    ratios = {name: s / help_s for name, s in median.items()}
    print(
        json.dumps(
            {
                "bench": "cli_errors",
                "machine": f"{os.cpu_count()} CPU cores",
                "help_seconds": round(help_s, 2),
                "cases": {
                    name: {
                        "seconds": round(median[name], 2),
                        "vs_help_ratio": round(ratios[name], 2),
                        "heavy_imported": heavy[name],
                    }
                    for name in median
                },
                "max_error_vs_help_time_ratio": round(max(ratios.values()), 2),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
