"""The settings of the two-process ZeRO-3 test runs (tests/train) and their one-process reference.

Four conversations (even: no batch pads across ranks), lr 5e-3 with a constant schedule, on CPU: the
reference trains one process without DeepSpeed at batch size 2, the ZeRO-3 runs two processes at batch
size 1, so both see the same four conversations per two steps (tests/train/test_distributed.py says why
1e-5 on losses and 1e-4 on weights then separate rounding from a real error).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from kit.train_data import dolly_conversations, write_jsonl

STEPS = 4  # optimizer steps of the two-rank runs and their reference: two epochs of two steps


def zero3_values(root: Path, model: Path, *, steps: int) -> dict[str, Any]:
    """The run settings shared by the reference and the ZeRO-3 runs (the data written under ``root``)."""
    data = write_jsonl(root / "four.jsonl", dolly_conversations(4))
    return {
        "strategy": "full",
        "model": str(model),
        "data": str(data),
        "train_on": "all",
        "max_length": 256,
        "max_steps": steps,
        "logging_steps": 1,
        "optimizer": {"lr": 5e-3, "scheduler": "constant"},
        "device": "cpu",
    }


def train_one_process(root: Path, values: dict[str, Any]) -> Path:
    """Train the one-process reference in this process; returns its output directory."""
    from ru_llm.train.configfile import resolve_config
    from ru_llm.train.run import train

    reference = root / "one-process"
    path = root / "one-process.yaml"
    path.write_text(yaml.safe_dump({**values, "batch_size": 2, "output_dir": str(reference)}), encoding="utf-8")
    config, _ = resolve_config(path)
    train(config, progress=False)
    return reference


def shared_reference(root: Path, model: Path, *, steps: int) -> tuple[dict[str, Any], Path]:
    """:func:`zero3_values` and :func:`train_one_process` under ``root``, done once however many test processes
    ask (a file lock; a marker written after the run says it is done). Returns the settings and the reference's
    output directory, both read-only for the callers."""
    from filelock import FileLock

    done = root / "reference-done.json"
    with FileLock(str(root / "reference.lock")):
        if not done.is_file():
            values = zero3_values(root, model, steps=steps)
            train_one_process(root, values)
            done.write_text(json.dumps(values), encoding="utf-8")
    return json.loads(done.read_text(encoding="utf-8")), root / "one-process"
