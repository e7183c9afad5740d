"""bench/dpo_reference.py runs end to end on a small model and ends with its JSON report (no timing checks).

The script's ``main`` runs in a child forked from this test process, after this process imported what the
two DPO runs import (torch, TRL's DPOTrainer, transformers, ru_llm.train): the worker's in-process training tests import
them anyway, and a fresh ``python bench/dpo_reference.py`` paid them again (~10 CPU-seconds). The two runs
are forked from that child (``--children fork``)."""

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
    return runpy.run_path(str(REPO / "bench" / "dpo_reference.py"), run_name="dpo_reference")["main"](argv)


@pytest.mark.slow
def test_dpo_reference_benchmark_reports_both_ways_as_json(tiny_model, capfd: pytest.CaptureFixture[str]) -> None:
    import torch  # noqa: F401  (the script sets one thread before its first torch operation)
    from trl import DPOTrainer  # noqa: F401  (what both runs import; `import trl` alone is lazy)

    import ru_llm.train.run  # noqa: F401

    # the tiny LLaMA's 1,000-piece vocabulary: the script's path in seconds (32k logits cost most of a minute)
    argv = ["--hidden", "64", "--layers", "1", "--pairs", "4", "--steps", "1", "--max-length", "256"]
    argv += ["--repeats", "1", "--tokenizer", str(tiny_model("llama-small"))]
    argv += ["--children", "fork"]  # both runs forked from the bench: one import of the libraries, not three
    capfd.readouterr()
    returned = call_forked(_bench_main, argv)
    report = json.loads(capfd.readouterr().out.strip().splitlines()[-1])  # it ends with its report
    assert report == returned
    assert report["benchmark"] == "dpo_reference" and report["steps"] == 1
    for way in ("reference_model", "precomputed"):
        assert report[way]["peak_rss_mb"] > 0 and report[way]["seconds"] > 0
    assert report["peak_rss_ratio"] > 0 and report["time_ratio"] > 0
    assert report["vocabulary"] == str(tiny_model("llama-small")) and report["children"] == "fork"
    # the same reference log-probabilities either way: the same training loss
    assert report["precomputed"]["final_train_loss"] == pytest.approx(report["reference_model"]["final_train_loss"])
