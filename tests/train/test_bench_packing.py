"""bench/train_packing.py runs end to end on a few samples and ends with its JSON report (no timing checks).

Six samples at 256 tokens: three padded steps, and packs that hold more than one sample (at 128 tokens
every sample filled its own pack, so the packed way would not pack). The bench's three child runs (the
timed one, one memory run per way) are forked from it (``--children fork``): fresh processes would import
torch and transformers three times more; each sample more costs a step in all three."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_packing_benchmark_reports_both_ways_as_json() -> None:
    command = [
        sys.executable,
        str(REPO / "bench" / "train_packing.py"),
        "--samples",
        "6",
        "--max-length",
        "256",
        "--batch-size",
        "2",
        "--tokens",
        "0",
        "--children",
        "fork",
    ]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])

    for key in (
        "packed_vs_padded_tokens_per_s_ratio",
        "packed_vs_padded_tokens_per_cpu_s_ratio",
        "padded_vs_packed_positions_per_token_ratio",
        "packed_vs_padded_peak_memory_ratio",
        "padded_padding_fraction",
        "packed_padding_fraction",
        "pack_fill_rate",
        "memory_measure",
    ):
        assert key in report, key
    for way in ("padded", "packed"):
        result = report[way]
        for key in ("tokens_per_s", "tokens_per_cpu_s", "padding_fraction", "peak_rss_mb", "steps", "tokens"):
            assert key in result, (way, key)
        # --tokens 0: each way trains the whole workload once, so both see the same tokens
        assert result["samples_trained"] == 6
        assert result["tokens"] == report["workload"]["tokens"]
        assert result["trained_tokens"] == report["workload"]["trained_tokens"]
    assert report["children"] == "fork" and report["memory_measure"] == "ru_maxrss of a forked process per way"
    assert 0 < report["pack_fill_rate"] <= 1
    assert report["workload"]["packs"] < report["workload"]["samples"]  # packing put samples together
    assert report["packed"]["steps"] < report["padded"]["steps"]
