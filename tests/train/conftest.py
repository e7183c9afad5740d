"""Fixtures for the train tests: run configs on the tiny models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import shared_dir
from kit.train_data import dolly_conversations, write_jsonl


@pytest.fixture
def run_config(tmp_path: Path, tiny_model: Callable[[str], Path]) -> Callable[..., Path]:
    """``run_config("llama", **values)`` -> a YAML run config in tmp_path with small defaults on that tiny model.

    Tests whose subject is not a real vocabulary train ``llama-small`` (LLaMA-2's layout on 1,000 pieces): the
    32k-way head of ``llama`` made each step several times dearer, and loading its tokenizer took 0.5-1 s."""

    def make(family: str = "llama", name: str = "run.yaml", **values: Any) -> Path:
        data = values.pop("data", None)
        if data is None:
            data = str(write_jsonl(tmp_path / "data.jsonl", dolly_conversations()))
        config = {
            "strategy": "lora",
            "model": str(tiny_model(family)),
            "data": data,
            "output_dir": str(tmp_path / "out"),
            "max_length": 256,
            "max_steps": 3,
            "batch_size": 2,
            "logging_steps": 1,
            "optimizer": {"lr": 1e-2, "scheduler": "constant"},
            "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
            "device": "cpu",
        }
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        path = tmp_path / name
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    return make


@pytest.fixture(scope="session")
def zero3_reference(tmp_path_factory: pytest.TempPathFactory, tiny_model: Callable[[str], Path]) -> dict[str, Any]:
    """The run settings of the two-rank ZeRO-3 tests and their one-process reference run (kit/zero3_runs.py),
    trained once per test run for every worker: ``{"values": ..., "reference": Path}``, both read-only."""
    pytest.importorskip("deepspeed")
    from kit.zero3_runs import STEPS, shared_reference

    root = shared_dir(tmp_path_factory, "zero3-reference")
    values, reference = shared_reference(root, tiny_model("llama"), steps=STEPS)
    return {"values": values, "reference": reference}
