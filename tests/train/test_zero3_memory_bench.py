"""bench/zero3_memory.py runs end to end on a tiny LLaMA and ends with its JSON report (no memory targets:
at this size the libraries, not the model, fill the processes; the numbers are in docs/training-distributed.md).

The script runs forked from this test process's launch server (tests/kit/launch.py, which imported torch,
transformers and DeepSpeed once for every two-rank test of the worker) and forks both ways' ranks itself
(``--launcher fork``): a fresh ``python bench/zero3_memory.py`` imported the libraries again, and so did the
launch server it started for its ranks (~10 CPU-seconds each)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kit.launch import forked

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_zero3_memory_benchmark_reports_both_ways_and_equal_weights() -> None:
    pytest.importorskip("deepspeed")
    command = [str(REPO / "bench" / "zero3_memory.py"), "--hidden", "32", "--layers", "1"]
    command += ["--intermediate", "64", "--heads", "2", "--launcher", "fork"]  # ranks forked: kit/launch.py
    proc = forked(command, cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["benchmark"] == "zero3_memory" and report["processes"] == 2 and report["steps"] == 1
    assert report["launcher"] == "fork"
    for way in ("sharded", "whole"):
        ranks = report[way]["per_rank"]
        assert sorted(r["rank"] for r in ranks) == [0, 1]
        for marks in ranks:  # the peak only grows: loaded <= partitioned <= engine built <= first step
            assert 0 < marks["before_load_mb"] <= marks["load_peak_mb"] <= marks["partitioned_peak_mb"]
            assert marks["partitioned_peak_mb"] <= marks["start_peak_mb"] <= marks["step_peak_mb"]
    ratios = ("per_rank_peak_rss_vs_full_model_ratio", "per_rank_peak_rss_raw_ratio", "start_peak_ratio")
    for key in (*ratios, "step_peak_ratio"):
        assert report[key] > 0, key
    # the sharded run's saved weights load with plain transformers and are the one-process run's
    assert report["weights_equal"] is True and report["max_abs_weight_diff_vs_one_process"] < 1e-4
    assert report["min_weight_change"] > 1e-4  # every tensor trained: the comparison says something
