"""``liger_kernel: true``: the config plumbing to transformers' ``use_liger_kernel``, and the early errors
(liger-kernel not installed; no CUDA device) that a CPU machine can check."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml
from kit.train_data import one_line_error

from ru_llm.core.errors import ConfigError
from ru_llm.train.arguments import run_argument_values
from ru_llm.train.configfile import resolve_config
from ru_llm.train.run import check_device, check_liger

BASE = {"strategy": "lora", "model": "m", "output_dir": "out"}


def _pretend_liger(monkeypatch: pytest.MonkeyPatch, installed: bool) -> None:
    real = importlib.util.find_spec
    fake = importlib.machinery.ModuleSpec("liger_kernel", loader=None)

    def find_spec(name: str, *args: Any) -> Any:
        if name == "liger_kernel":
            return fake if installed else None
        return real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_off_by_default_and_passed_to_the_trainer_arguments(tmp_path: Path) -> None:
    config, tree = resolve_config(base=BASE)
    assert config.liger_kernel is False and tree["liger_kernel"] is False
    assert run_argument_values(config, tmp_path, has_validation=False)["use_liger_kernel"] is False
    config, tree = resolve_config(base=BASE, overrides=["liger_kernel=true"])
    assert config.liger_kernel is True and tree["liger_kernel"] is True
    assert run_argument_values(config, tmp_path, has_validation=False)["use_liger_kernel"] is True


def test_transformers_reads_the_argument(tmp_path: Path) -> None:
    # the name we pass is the one TrainingArguments has (it applies the kernels in Trainer.train)
    import dataclasses

    from transformers import TrainingArguments

    assert "use_liger_kernel" in {f.name for f in dataclasses.fields(TrainingArguments)}


def test_not_installed_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_liger(monkeypatch, installed=False)
    with pytest.raises(ConfigError) as caught:
        check_liger(on_cpu=False)
    assert "liger_kernel: true but liger-kernel is not installed" in str(caught.value)
    assert 'pip install "ru-llm-train[liger]"' in caught.value.hint
    assert "liger_kernel: false" in caught.value.hint


def test_no_cuda_device_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_liger(monkeypatch, installed=True)
    config, _ = resolve_config(base={**BASE, "device": "cpu", "liger_kernel": True})
    with pytest.raises(ConfigError) as caught:
        check_device(config)
    assert "liger_kernel: true needs a CUDA GPU" in str(caught.value)
    assert "liger_kernel: false" in caught.value.hint
    config, _ = resolve_config(base={**BASE, "device": "cpu"})
    check_device(config)  # off: no check, no error


def test_train_run_refuses_before_reading_the_model(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("liger_kernel") is not None:
        _pretend_liger(monkeypatch, installed=False)
    # a model directory and data that only look right: the option is checked before either is read
    fake = {"model/config.json": "{}", "model/tokenizer.json": "{}", "data.jsonl": "not read\n"}
    for relative, text in fake.items():
        (tmp_path / relative).parent.mkdir(exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    run = {"strategy": "full", "model": str(tmp_path / "model"), "data": str(tmp_path / "data.jsonl"),
           "output_dir": str(tmp_path / "out"), "liger_kernel": True}  # fmt: skip
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(run), encoding="utf-8")
    line = one_line_error(cli("train", "run", config))
    assert "liger_kernel: true but liger-kernel is not installed" in line
    assert not (tmp_path / "out").exists()
