"""bench/dpo_reference.py runs end to end on a small model and ends with its JSON report (no timing checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_dpo_reference_benchmark_reports_both_ways_as_json(tiny_model) -> None:
    # the tiny LLaMA's 1,000-piece vocabulary: the script's path in seconds (32k logits cost most of a minute)
    command = [sys.executable, str(REPO / "bench" / "dpo_reference.py"), "--hidden", "64", "--layers", "1"]
    command += ["--pairs", "4", "--steps", "1", "--max-length", "256", "--repeats", "1"]
    command += ["--tokenizer", str(tiny_model("llama-small"))]
    command += ["--children", "fork"]  # both runs forked from the bench: one import of the libraries, not three
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["benchmark"] == "dpo_reference" and report["steps"] == 1
    for way in ("reference_model", "precomputed"):
        assert report[way]["peak_rss_mb"] > 0 and report[way]["seconds"] > 0
    assert report["peak_rss_ratio"] > 0 and report["time_ratio"] > 0
    assert report["vocabulary"] == str(tiny_model("llama-small")) and report["children"] == "fork"
    # the same reference log-probabilities either way: the same training loss
    assert report["precomputed"]["final_train_loss"] == pytest.approx(report["reference_model"]["final_train_loss"])
