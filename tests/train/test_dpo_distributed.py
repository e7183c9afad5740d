"""DPO with ZeRO-3 on two CPU ranks gives the run one process gives (the ranks are forked with torchrun's
variables from one process that imported the libraries, kit/launch.py: the test is about DPO, not torchrun).

Two pairs, two steps (two epochs): one process takes both pairs per step, the two ranks one each
(the distributed sampler deals the seeded permutation out in turn). The DPO loss of a batch is the mean
over its pairs, so averaged gradients are the same; a rank whose pair is lost, a reference model that
is not gathered, or rewards gathered from one rank only would show in the losses or the margins.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kit.launch import forked_ranks
from kit.train_data import oasst_preference_pairs, write_jsonl

from ru_llm.train.configfile import resolve_config
from ru_llm.train.run import train


def _logged(out: Path) -> dict[int, dict[str, Any]]:
    lines = (out / "metrics.jsonl").read_text(encoding="utf-8").split("\n")
    return {m["step"]: m for m in map(json.loads, filter(None, lines)) if "loss" in m}


@pytest.mark.slow
def test_two_processes_under_zero3_match_one_process(tmp_path, tiny_model):
    pytest.importorskip("deepspeed")
    pairs = [p for p in oasst_preference_pairs() if sum(len(m["content"]) for m in p["messages"]) < 150][:2]
    values: dict[str, Any] = {
        "strategy": "dpo",
        "model": str(tiny_model("llama-small")),  # DPO's cost is the head: a 1,000-piece vocabulary
        "data": str(write_jsonl(tmp_path / "pairs.jsonl", pairs)),
        "max_length": 256,
        "max_steps": 2,
        "logging_steps": 1,
        "optimizer": {"lr": 1e-3, "scheduler": "constant"},
        "dpo": {"method": "full", "beta": 0.1},
        "device": "cpu",
    }
    one = tmp_path / "one.yaml"
    one.write_text(yaml.safe_dump({**values, "batch_size": 2, "output_dir": str(tmp_path / "one")}), encoding="utf-8")
    config, _ = resolve_config(one)
    train(config, progress=False)

    two = tmp_path / "two.yaml"
    sharded = {**values, "batch_size": 1, "output_dir": str(tmp_path / "two"), "full": {"deepspeed": "zero3"}}
    two.write_text(yaml.safe_dump(sharded), encoding="utf-8")
    done = forked_ranks("-m", "ru_llm.cli", "train", "run", two, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "two" / "model.safetensors").is_file()

    expected, got = _logged(tmp_path / "one"), _logged(tmp_path / "two")
    assert sorted(got) == [1, 2]
    for step in (1, 2):
        for key in ("loss", "rewards/chosen", "rewards/rejected", "rewards/margins"):
            assert got[step][key] == pytest.approx(expected[step][key], abs=1e-4), (step, key)
    # it learned (step 2 scores the pairs step 1 trained on): the comparison is not of two untrained runs
    assert got[2]["rewards/margins"] > 0.1
