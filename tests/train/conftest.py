"""Fixtures for the train tests: run configs on the tiny models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kit.train_data import dolly_conversations, write_jsonl


@pytest.fixture
def run_config(tmp_path: Path, tiny_model: Callable[[str], Path]) -> Callable[..., Path]:
    """``run_config("llama", **values)`` -> a YAML run config in tmp_path with small defaults on that tiny model."""

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
