"""bench/train_packing.py runs end to end on a few samples and ends with its JSON report (no timing checks).

Six samples at 256 tokens: three padded steps, and packs that hold more than one sample (at 128 tokens
every sample filled its own pack, so the packed way would not pack). The script's ``main`` runs in a child
forked from this test process after this process imported torch and transformers' LLaMA (the worker's
in-process training tests import them anyway; a fresh ``python bench/train_packing.py`` paid them again), and
its three child runs (the timed one, one memory run per way) are forked from that child (``--children fork``):
fresh processes would import torch and transformers three times more; each sample more costs a step in all
three."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest
from kit.fork_call import call_forked

REPO = Path(__file__).resolve().parents[2]


def _bench_main(argv: list[str]) -> Any:
    """In the forked child: the script as its command line would run it, on ``argv``."""
    return runpy.run_path(str(REPO / "bench" / "train_packing.py"), run_name="train_packing")["main"](argv)


@pytest.mark.slow
def test_packing_benchmark_reports_both_ways_as_json(capfd: pytest.CaptureFixture[str]) -> None:
    import torch  # noqa: F401  (the script sets one thread before its first torch operation)
    import transformers.models.llama.modeling_llama  # noqa: F401

    argv = ["--samples", "6", "--max-length", "256", "--batch-size", "2", "--tokens", "0", "--children", "fork"]
    capfd.readouterr()
    returned = call_forked(_bench_main, argv)
    report = json.loads(capfd.readouterr().out.strip().splitlines()[-1])  # it ends with its report
    assert report == returned

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
