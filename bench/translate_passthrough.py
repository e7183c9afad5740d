"""Benchmark: what the segmenter keeps out of MT, on real labelled segments, against a fences-only baseline.

The segments (``tests/data/translate_passthrough/segments.jsonl``) are cut from the bundled OASST trees,
the self-instruct tasks and FastChat's MT-Bench questions and reference answers, each labelled prose or
non-prose by hand (see the README there). Two ways segment every text:

* ``detector``: ``ru_llm.translate.segment.segment_text``, what the engine sends to the MT model;
* ``baseline``: fenced blocks kept verbatim, every other non-blank line sent whole (a one-off script).

Reported per way (scoring in ``tests/kit/passthrough.py``): non-prose recall (share of non-prose segments
with nothing sent; goal 1.0), prose sent rate (share of prose segments sent; goal >= 0.98), prose
precision (of the segments sent, the share that are prose), the stricter prose fully-sent rate, per-class
counts and rates, the failing ids, and the time to segment the whole set (best of ``--repeats``).
The last stdout line is one JSON object; a human summary comes before it.

    uv run python bench/translate_passthrough.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

TARGETS = {"nonprose_recall": 1.0, "prose_sent_rate": 0.98}
SUMMARY = ("nonprose_recall", "prose_sent_rate", "prose_precision", "prose_fully_sent_rate", "segment_seconds")


def seconds_to_segment(segmenter, texts: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for text in texts:
            segmenter(text)
        best = min(best, time.perf_counter() - start)
    return best


def ratio(a: float | None, b: float | None, digits: int = 3) -> float | None:
    return round(a / b, digits) if a is not None and b else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timing runs per way; the best counts")
    args = parser.parse_args()

    from kit.passthrough import fenced_only, load_segments, score

    from ru_llm.translate.segment import segment_text

    segments = load_segments()
    texts = [segment["text"] for segment in segments]
    ways = {"detector": segment_text, "baseline": fenced_only}
    results = {}
    for name, segmenter in ways.items():
        results[name] = score(segments, segmenter)
        results[name]["segment_seconds"] = round(seconds_to_segment(segmenter, texts, args.repeats), 5)
    detector, baseline = results["detector"], results["baseline"]

    print(f"{len(segments)} labelled segments: {detector['nonprose_segments']} non-prose, "
          f"{detector['prose_segments']} prose")  # fmt: skip
    for name, result in results.items():
        print(f"{name}: non-prose recall {result['nonprose_recall']}, prose sent rate {result['prose_sent_rate']}, "
              f"prose precision {result['prose_precision']}, prose fully sent {result['prose_fully_sent_rate']}, "
              f"{result['segment_seconds'] * 1000:.1f} ms")  # fmt: skip
    print("per class (detector rate / baseline rate; recall for non-prose, sent rate for prose):")
    for klass, row in detector["per_class"].items():
        other = baseline["per_class"][klass]["rate"]
        print(f"  {klass:20s} {row['label']:9s} n={row['segments']:3d}  {row['rate']} / {other}")
    if detector["nonprose_sent_ids"]:
        print("detector sends non-prose:", ", ".join(detector["nonprose_sent_ids"]))
    if detector["prose_kept_ids"]:
        print("detector keeps prose:", ", ".join(detector["prose_kept_ids"]))
    for ident, lines in detector["prose_lines_kept"].items():
        print(f"detector keeps prose lines of {ident}: {lines}")

    report = {
        "benchmark": "translate_passthrough",
        "segments": len(segments),
        "nonprose_recall": detector["nonprose_recall"],
        "prose_sent_rate": detector["prose_sent_rate"],
        "prose_precision": detector["prose_precision"],
        "prose_fully_sent_rate": detector["prose_fully_sent_rate"],
        "per_class": detector["per_class"],
        "nonprose_sent_ids": detector["nonprose_sent_ids"],
        "prose_kept_ids": detector["prose_kept_ids"],
        "baseline": {
            **{key: baseline[key] for key in SUMMARY},
            "per_class_rate": {klass: row["rate"] for klass, row in baseline["per_class"].items()},
        },
        "segment_seconds": detector["segment_seconds"],
        "nonprose_recall_ratio": ratio(detector["nonprose_recall"], baseline["nonprose_recall"]),
        "prose_sent_rate_ratio": ratio(detector["prose_sent_rate"], baseline["prose_sent_rate"]),
        "prose_precision_ratio": ratio(detector["prose_precision"], baseline["prose_precision"]),
        "segment_time_ratio": ratio(detector["segment_seconds"], baseline["segment_seconds"], 2),
        "targets": TARGETS,
    }
    report["meets_targets"] = all((report[key] or 0) >= goal for key, goal in TARGETS.items())
    print(json.dumps(report))


if __name__ == "__main__":
    main()
