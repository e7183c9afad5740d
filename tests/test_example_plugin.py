"""The third-party plugin example, exposed as a real distribution and found through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from kit.distributions import expose_project, put_on_path

from ru_llm.core import PluginError, conversation, get_model_family, get_plugin_manager, model_family_for
from ru_llm.core.plugins import DISABLE_AUTOLOAD_ENV, LOAD_PLUGINS_ENV
from ru_llm.dataset import get_template, render_text

EXAMPLE = REPO / "examples" / "ru-llm-plugin-example"


@pytest.fixture
def example_paths(tmp_path: Path) -> list[Path]:
    return expose_project(EXAMPLE, tmp_path / "site")


@pytest.fixture
def installed(example_paths: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    put_on_path(monkeypatch, example_paths)
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV)


def test_discovered_through_its_entry_point(installed: None) -> None:
    info = {i.name: i for i in get_plugin_manager().plugin_infos()}["phi3"]
    assert (info.distribution, info.version, info.builtin) == ("ru-llm-plugin-example", "0.1.0", False)
    assert info.hooks == ("register_model_families", "register_templates")


def test_its_family_is_usable_by_name_and_by_config(installed: None) -> None:
    family = get_model_family("Phi-3")
    assert family.lora_target_modules == ("qkv_proj", "o_proj")
    assert model_family_for({"model_type": "phi3"}) is family
    assert get_template(family.default_template).name == "phi3"


def test_its_template_trains_only_on_replies(installed: None) -> None:
    conv = conversation("c1", [("system", "Будь краток."), ("user", "Привет"), ("assistant", "Здравствуйте!")])
    template = get_template("phi3")
    segments = template.render(conv)
    assert [s.text for s in segments if s.trainable] == ["Здравствуйте!<|end|>"]
    assert render_text(template, conv) == (
        "<|system|>\nБудь краток.<|end|>\n<|user|>\nПривет<|end|>\n<|assistant|>\nЗдравствуйте!<|end|>\n"
    )
    assert template.render_prompt(conv).endswith("<|assistant|>\n")


def test_autoload_switch_hides_it(installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    assert not get_plugin_manager().has_plugin("phi3")
    with pytest.raises(LookupError, match="unknown model family 'phi3'"):
        get_model_family("phi3")


def test_allow_list_controls_it(installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from ru_llm.core.plugins import set_plugin_manager

    monkeypatch.setenv(LOAD_PLUGINS_ENV, "")
    assert not get_plugin_manager().has_plugin("phi3")
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "something-else")
    set_plugin_manager(None)
    with pytest.raises(PluginError, match="something_else.*no installed distribution"):
        get_plugin_manager()
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "ru-llm-plugin-example")
    set_plugin_manager(None)
    assert get_plugin_manager().has_plugin("phi3")


@pytest.mark.slow
def test_its_lora_targets_exist_in_the_real_phi3_model() -> None:
    import torch
    from ru_llm_plugin_example import PHI3
    from transformers import Phi3Config, Phi3ForCausalLM

    torch.manual_seed(0)
    config = Phi3Config(
        vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=64, pad_token_id=0,
    )  # fmt: skip
    model = Phi3ForCausalLM(config)
    names = [n for n, _ in model.named_modules()]
    for target in PHI3.lora_target_modules:
        assert any(n.endswith("." + target) for n in names), target
    assert model.get_submodule(PHI3.input_embeddings) is model.get_input_embeddings()
    assert PHI3.embeddings_tied(config) == (model.lm_head.weight is model.get_input_embeddings().weight)


def run_cli(args: list[str], pythonpath: list[Path], **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RU_LLM_")}
    environ["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "ru_llm.cli", *args], capture_output=True, text=True, env=environ, timeout=120
    )


def test_listed_by_ru_llm_plugins_once_installed(example_paths: list[Path]) -> None:
    result = run_cli(["plugins", "--json"], example_paths)
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["phi3"]["distribution"] == "ru-llm-plugin-example"
    assert "ru_llm.core.builtin_families" in plugins
    shown = run_cli(["models", "phi3"], example_paths)
    assert shown.returncode == 0 and "qkv_proj" in shown.stdout
    hidden = run_cli(["plugins", "--json"], example_paths, RU_LLM_DISABLE_PLUGIN_AUTOLOAD="1")
    assert "phi3" not in {p["name"] for p in json.loads(hidden.stdout)}


def test_not_listed_when_not_installed() -> None:
    result = run_cli(["plugins", "--json"], [])
    assert result.returncode == 0, result.stderr
    assert "phi3" not in {p["name"] for p in json.loads(result.stdout)}
