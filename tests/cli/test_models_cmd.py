"""`ru-llm models`: the family table, JSON, aliases, and a model directory's family from config.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FAMILIES = ("llama", "llama3", "mistral", "qwen2", "gemma", "xglm", "gpt2")
FIELDS = {
    "name",
    "model_types",
    "lora_target_modules",
    "input_embeddings",
    "lm_head",
    "tied_embeddings",
    "default_template",
    "config_match",
    "pad_token",
    "adds_bos",
    "lora_fan_in_fan_out",
    "aliases",
    "description",
    "plugin",
}


def models_json(invoke, *args: object) -> list[dict]:
    result = invoke(["models", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def write_config(directory: Path, **config: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory


def table_rows(text: str) -> dict[str, str]:
    """First cell -> second cell of a rich table's body rows (continuation rows are skipped)."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) >= 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


def test_models_table_lists_the_seven_families(invoke):
    result = invoke(["models"])
    assert result.exit_code == 0, result.output
    assert "ru-llm model families" in result.stdout
    first_cells = [cell.split(" (")[0] for cell in table_rows(result.stdout)]
    assert first_cells == list(FAMILIES)
    assert "llama (llama2, llama-2)" in result.stdout
    assert "q_proj, k_proj, v_proj, out_proj" in result.stdout  # xglm's LoRA targets
    assert result.stderr == ""


def test_models_json(invoke):
    data = models_json(invoke)
    assert [f["name"] for f in data] == list(FAMILIES)
    for family in data:
        assert set(family) == FIELDS
        assert family["plugin"] == "ru_llm.core.builtin_families"
        assert family["lora_target_modules"]
    by_name = {f["name"]: f for f in data}
    assert by_name["llama"]["lora_target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert by_name["gpt2"]["lora_target_modules"] == ["c_attn", "attn.c_proj"]
    assert by_name["gpt2"]["lora_fan_in_fan_out"] is True
    assert by_name["gpt2"]["input_embeddings"] == "transformer.wte"
    assert by_name["xglm"]["tied_embeddings"] is True
    assert by_name["llama3"]["config_match"] == {"bos_token_id": 128000}
    assert by_name["qwen2"]["model_types"] == ["qwen2", "qwen3"]
    assert by_name["qwen2"]["adds_bos"] is False


@pytest.mark.parametrize(
    ("name", "family"),
    [("qwen2.5", "qwen2"), ("qwen2", "qwen2"), ("QWEN", "qwen2"), ("llama-2", "llama"), ("rugpt_3.5", "gpt2")],
)
def test_models_by_name_or_alias(invoke, name, family):
    assert [f["name"] for f in models_json(invoke, name)] == [family]


def test_models_alias_shows_the_family_table(invoke):
    result = invoke(["models", "qwen2.5"])
    assert result.exit_code == 0, result.output
    assert "model family qwen2" in result.stdout
    rows = table_rows(result.stdout)
    assert rows["name"] == "qwen2"
    assert rows["model_types"] == "qwen2, qwen3"
    assert rows["lora_target_modules"] == "q_proj, k_proj, v_proj, o_proj"
    assert rows["aliases"] == "qwen, qwen2.5, qwen3"
    assert rows["default_template"] == "chatml"
    assert rows["config_match"] == "-"
    assert rows["plugin"] == "ru_llm.core.builtin_families"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "family"),
    [("llama", "llama"), ("qwen2", "qwen2"), ("gpt2", "gpt2"), ("xglm", "xglm"), ("mistral", "mistral"),
     ("gemma", "gemma")],
)  # fmt: skip
def test_models_resolves_a_model_directory(invoke, tiny_model, model, family):
    directory = tiny_model(model)
    assert [f["name"] for f in models_json(invoke, directory)] == [family]
    result = invoke(["models", directory])
    assert result.exit_code == 0, result.output
    assert f"model family {family}" in result.stdout


@pytest.mark.slow
def test_tiny_llama_is_llama2_not_llama3(invoke, tiny_model):
    directory = tiny_model("llama")
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    assert (config["model_type"], config["bos_token_id"]) == ("llama", 1)
    assert models_json(invoke, directory)[0]["name"] == "llama"
    # config.json itself works as well as its directory
    assert models_json(invoke, directory / "config.json")[0]["name"] == "llama"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")
@pytest.mark.parametrize(("model", "model_type"), [("marian", "marian"), ("m2m100", "m2m_100")])
def test_seq2seq_model_directory_has_no_family(invoke, tiny_model, model, model_type):
    result = invoke(["models", tiny_model(model)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: unknown model_type {model_type!r}")
    assert len(result.stderr.splitlines()) == 1


def test_llama3_config_resolves_to_llama3(invoke, tmp_path):
    directory = write_config(tmp_path / "llama3", model_type="llama", bos_token_id=128000, vocab_size=128256)
    data = models_json(invoke, directory)
    assert [f["name"] for f in data] == ["llama3"]
    assert data[0]["default_template"] == "llama3"
    result = invoke(["models", directory])
    assert result.exit_code == 0
    assert table_rows(result.stdout)["config_match"] == "bos_token_id=128000"


def test_llama_config_without_llama3_bos_is_llama(invoke, tmp_path):
    directory = write_config(tmp_path / "llama2", model_type="llama", bos_token_id=1)
    assert models_json(invoke, directory)[0]["name"] == "llama"


@pytest.mark.parametrize("typo", ["lama", "Lama"])
def test_misspelt_family_suggests_the_right_one(invoke, typo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no directory named like the typo
    result = invoke(["models", typo])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "did you mean 'llama'" in lines[0]
    assert "Traceback" not in result.output


def test_directory_without_config_is_a_user_error(invoke, tmp_path):
    result = invoke(["models", tmp_path])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path}: no config.json found (hint: pass a model directory saved by transformers)\n"
    )


def test_unknown_model_type_lists_the_known_ones(invoke, tmp_path):
    result = invoke(["models", write_config(tmp_path / "falcon", model_type="falcon")])
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("Error: unknown model_type 'falcon'")
    assert "gpt2" in line
    assert "qwen3" in line


def test_broken_config_is_a_user_error(invoke, tmp_path):
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    result = invoke(["models", tmp_path])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert "cannot read the model config" in result.stderr


def test_a_family_from_a_plugin_is_listed(invoke, plugin_manager):
    import types

    from ru_llm.core import ModelFamily, hookimpl

    module = types.ModuleType("falcon_plugin")

    @hookimpl
    def register_model_families(register):
        register(ModelFamily(name="falcon", model_types=("falcon",), lora_target_modules=("query_key_value",)))

    module.register_model_families = register_model_families
    plugin_manager.register(module, name="falcon_plugin")
    data = models_json(invoke)
    assert [f["name"] for f in data] == [*FAMILIES, "falcon"]
    assert data[-1]["plugin"] == "falcon_plugin"
    assert models_json(invoke, "falcon")[0]["lora_target_modules"] == ["query_key_value"]


def test_a_missing_model_directory_is_named_as_a_path(invoke, tmp_path):
    result = invoke(["models", str(tmp_path / "no-such-model")])
    assert result.exit_code == 1
    assert "no-such-model: no config.json found" in result.stderr
    assert "unknown model family" not in result.stderr
