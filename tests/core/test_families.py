"""Model families: lookups, config resolution, and the facts checked against real model classes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ru_llm.core import ConfigError, ModelFamily, RuLLMError, UnknownNameError
from ru_llm.core.families import get_model_family, load_model_config, model_families, model_family_for

BUILTIN = ("llama", "llama3", "mistral", "qwen2", "gemma", "xglm", "gpt2")


def test_builtin_families_are_registered() -> None:
    assert model_families().names() == list(BUILTIN)
    for entry in model_families().entries():
        assert entry.plugin == "ru_llm.core.builtin_families"


@pytest.mark.parametrize(
    ("name", "family"),
    [("llama2", "llama"), ("LLaMA-2", "llama"), ("qwen2.5", "qwen2"), ("Qwen3", "qwen2"), ("ruGPT-3.5", "gpt2")],
)
def test_lookup_by_alias_ignores_case(name: str, family: str) -> None:
    assert get_model_family(name).name == family


def test_unknown_family_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'mistral'") as info:
        get_model_family("mistrall")
    assert "ru-llm models" in info.value.hint


def test_paper_lora_targets() -> None:
    assert get_model_family("llama").lora_target_modules == ("q_proj", "k_proj", "v_proj", "o_proj")
    assert get_model_family("xglm").lora_target_modules == ("q_proj", "k_proj", "v_proj", "out_proj")


@pytest.mark.parametrize(
    ("config", "family"),
    [
        ({"model_type": "llama", "bos_token_id": 1}, "llama"),
        ({"model_type": "llama", "bos_token_id": 128000}, "llama3"),
        ({"model_type": "llama"}, "llama"),
        ({"model_type": "qwen3"}, "qwen2"),
        ({"model_type": "gemma2"}, "gemma"),
        ({"model_type": "xglm"}, "xglm"),
    ],
)
def test_family_from_config(config: dict, family: str) -> None:
    assert model_family_for(config).name == family


def test_unknown_model_type_lists_known_types() -> None:
    with pytest.raises(UnknownNameError, match="unknown model_type 'falcon'.*Known: gemma, gemma2") as info:
        model_family_for({"model_type": "falcon"})
    assert "plugin" in info.value.hint


def test_config_without_model_type() -> None:
    with pytest.raises(RuLLMError, match="no model_type"):
        model_family_for({"vocab_size": 10})


def test_equal_claims_are_an_error(plugin_manager) -> None:
    import types

    from ru_llm.core import hookimpl

    module = types.ModuleType("rival")
    module.register_model_families = hookimpl(
        lambda register: register(ModelFamily(name="rival", model_types=("mistral",), lora_target_modules=("q",)))
    )
    plugin_manager.register(module, name="rival")
    with pytest.raises(RuLLMError, match="claimed equally by families 'mistral', 'rival'"):
        model_family_for({"model_type": "mistral"})


def test_config_from_a_model_directory_and_bad_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2", "tie_word_embeddings": True}))
    assert model_family_for(tmp_path).name == "qwen2"
    assert model_family_for(str(tmp_path / "config.json")).name == "qwen2"
    with pytest.raises(RuLLMError, match="no config.json found"):
        load_model_config(tmp_path / "missing")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(RuLLMError, match="cannot read the model config"):
        load_model_config(tmp_path)
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(RuLLMError, match="not a JSON object"):
        load_model_config(tmp_path)


def test_tied_embeddings_follow_the_config() -> None:
    qwen = get_model_family("qwen2")
    assert qwen.embeddings_tied({"tie_word_embeddings": True}) is True
    assert qwen.embeddings_tied({}) is False  # the family default when the config says nothing


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model_types": ()}, "model_types must not be empty"),
        ({"model_types": "llama"}, "model_types must be a tuple"),
        ({"lora_target_modules": ()}, "lora_target_modules must not be empty"),
        ({"input_embeddings": "model/embed"}, "not a dotted module path"),
    ],
)
def test_family_validation(fields: dict, message: str) -> None:
    base = {"name": "x", "model_types": ("x",), "lora_target_modules": ("q_proj",)}
    with pytest.raises(ConfigError, match=message):
        ModelFamily(**{**base, **fields})


# -- the facts, checked on real transformers model classes ---------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("model", "family"), [(m, m) for m in ("llama", "mistral", "qwen2", "gemma", "gpt2", "xglm")])
def test_family_describes_the_real_model(tiny_model, model: str, family: str) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    path = tiny_model(model)
    config = AutoConfig.from_pretrained(path)
    fam = model_family_for(config)
    assert fam.name == family
    lm = AutoModelForCausalLM.from_pretrained(path)
    names = [name for name, _ in lm.named_modules()]
    for target in fam.lora_target_modules:  # PEFT matches a target as a module-name suffix
        assert any(n == target or n.endswith("." + target) for n in names), (family, target)
    embeddings = lm.get_submodule(fam.input_embeddings)
    assert isinstance(embeddings, torch.nn.Embedding)
    assert embeddings is lm.get_input_embeddings()
    assert lm.get_submodule(fam.lm_head) is lm.get_output_embeddings()
    tied = lm.get_output_embeddings().weight is lm.get_input_embeddings().weight
    assert fam.embeddings_tied(config) == tied
    tokenizer = AutoTokenizer.from_pretrained(path)
    ids = tokenizer("Привет")["input_ids"]
    # XGLM's start token is </s>, not <s>: check for any special token in front.
    assert (ids[0] in tokenizer.all_special_ids) == fam.adds_bos
    if fam.pad_token is not None and tokenizer.pad_token is None:
        assert fam.pad_token in tokenizer.get_vocab(), "the family's fallback pad token must exist"


def test_non_string_model_type_is_a_clear_error() -> None:
    with pytest.raises(UnknownNameError, match="unknown model_type '5'"):
        model_family_for({"model_type": 5})
