"""The example plugin's trainer strategy (``lora_plus``, LoRA+ built on ``lora`` by composition) with its
own typed settings block: read from a config in-process, and trained by ``ru-llm train run`` in a fresh
virtual environment where the workspace packages and the example are installed like any others."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from example_venv import example_venv
from kit.distributions import expose_project, put_on_path
from kit.train_data import dolly_conversations, write_jsonl

from ru_llm.core import ConfigError
from ru_llm.core.plugins import DISABLE_AUTOLOAD_ENV
from ru_llm.train import get_strategy
from ru_llm.train.configfile import resolve_config

EXAMPLE = REPO / "examples" / "ru-llm-plugin-example"
BASE = ["model=m", "output_dir=o", "data=d.jsonl"]


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    put_on_path(monkeypatch, expose_project(EXAMPLE, tmp_path / "site"))
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV)


def test_its_settings_block_is_typed_and_checked(installed: None) -> None:
    from ru_llm_plugin_example.lora_plus import LoraPlusSettings

    config, tree = resolve_config(None, [*BASE, "strategy=lora_plus", "lora_plus.ratio=4"])
    assert config.settings_for("lora_plus") == LoraPlusSettings(ratio=4.0)
    assert tree["lora_plus"] == {"ratio": 4.0} and "plugin_settings" not in tree and "extra" not in tree
    again, _ = resolve_config(None, base=tree)  # config.resolved.yaml reads back to the same config
    assert again.settings_for("lora_plus") == config.settings_for("lora_plus")
    default, _ = resolve_config(None, [*BASE, "strategy=lora_plus"])
    assert default.settings_for("lora_plus").ratio == 16.0
    with pytest.raises(ConfigError, match=r"'lora_plus.ratio' must be at least 1"):
        resolve_config(None, [*BASE, "strategy=lora_plus", "lora_plus.ratio=0.5"])
    with pytest.raises(ConfigError, match=r"unknown key 'lora_plus.rate'; did you mean 'lora_plus.ratio'"):
        resolve_config(None, [*BASE, "strategy=lora_plus", "lora_plus.rate=4"])


def test_the_old_extra_layout_still_reads(installed: None) -> None:
    config, tree = resolve_config(None, [*BASE, "strategy=lora_plus", "extra.lora_plus.ratio=8"])
    assert config.settings_for("lora_plus").ratio == 8.0 and tree["lora_plus"] == {"ratio": 8.0}
    with pytest.raises(ConfigError, match="under both 'extra.lora_plus' and 'lora_plus'"):
        resolve_config(None, [*BASE, "strategy=lora_plus", "extra.lora_plus.ratio=8", "lora_plus.ratio=2"])
    with pytest.raises(ConfigError, match="unknown key 'nothing'"):
        resolve_config(None, [*BASE, "strategy=lora", "extra.nothing.k=1"])


def test_it_keeps_the_lora_traits_and_groups_the_b_matrices(installed: None, tiny_model) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    strategy = get_strategy("lora_plus")
    config, _ = resolve_config(None, [*BASE, "strategy=lora_plus", "lora_plus.ratio=4", "optimizer.lr=0.001"])
    assert strategy.frozen_base(config) is True  # the bf16 frozen-base path of lora, kept by composition
    assert strategy.settings_shown(config) == {"lora_plus", "lora"}
    assert strategy.card_label(config) == "lora_plus (ratio 4)"
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model("llama"))
    model = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    slow, fast = strategy.parameter_groups(model, config)
    names = {id(p): n for n, p in model.named_parameters()}
    assert fast["lr"] == pytest.approx(0.004) and "lr" not in slow
    assert fast["params"] and all(".lora_B." in names[id(p)] for p in fast["params"])
    assert slow["params"] and all(".lora_A." in names[id(p)] for p in slow["params"])


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The run's fresh environment with the packages and the example installed (tests/example_venv.py)."""
    return example_venv(tmp_path_factory)


@pytest.mark.slow
def test_ru_llm_trains_it_from_a_config_in_a_fresh_environment(
    fresh_env: tuple[Path, dict[str, str]], tmp_path: Path, tiny_model
) -> None:
    venv, environ = fresh_env
    config = {
        "strategy": "lora_plus",
        "model": str(tiny_model("llama")),
        "data": str(write_jsonl(tmp_path / "data.jsonl", dolly_conversations())),
        "output_dir": str(tmp_path / "out"),
        "template": "saiga",
        "max_length": 256,
        "max_steps": 2,
        "batch_size": 2,
        "device": "cpu",
        "optimizer": {"lr": 1e-3, "scheduler": "constant"},
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
        "lora_plus": {"ratio": 4},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run(
        [str(venv / "bin" / "ru-llm"), "train", "run", str(path)],
        capture_output=True, text=True, env=environ, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 4  # lora's peft adapter, saved by lora
    resolved = yaml.safe_load((out / "config.resolved.yaml").read_text())
    assert resolved["lora_plus"] == {"ratio": 4.0} and resolved["strategy"] == "lora_plus"
    card = (out / "README.md").read_text()
    assert "lora_plus (ratio 4)" in card and "lora_plus:" in card and "\ndpo:" not in card
