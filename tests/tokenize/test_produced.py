"""The checks every produced tokenizer passes, and which base files a tokenizer output takes along."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.produced import check_out_dir, copy_tokenizer_files, tokenizer_files, verify_tokenizer


def test_model_files_and_hidden_files_stay_behind(tmp_path: Path) -> None:
    base, out = tmp_path / "base", tmp_path / "out"
    base.mkdir()
    out.mkdir()
    names = [
        "config.json", "generation_config.json", "model.safetensors", "model.safetensors.index.json",
        "pytorch_model.bin", ".hidden", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
    ]  # fmt: skip
    for name in names:
        (base / name).write_text("{}", encoding="utf-8")
    (base / "sub").mkdir()
    assert [p.name for p in tokenizer_files(base, skip=["tokenizer.json"])] == [
        "chat_template.jinja",
        "tokenizer_config.json",
    ]
    copy_tokenizer_files(base, out)
    assert sorted(p.name for p in out.iterdir()) == ["chat_template.jinja", "tokenizer.json", "tokenizer_config.json"]


def test_out_dir_checks(tmp_path: Path) -> None:
    with pytest.raises(RuLLMError, match="the output directory holds an input"):
        check_out_dir(tmp_path, True, tmp_path)
    with pytest.raises(RuLLMError, match="the output directory holds an input"):  # the base inside --out
        check_out_dir(tmp_path, True, tmp_path / "base")
    (tmp_path / "x").write_text("x", encoding="utf-8")
    with pytest.raises(RuLLMError, match="already exists and is not empty"):
        check_out_dir(tmp_path, False)
    with pytest.raises(RuLLMError, match="not an output directory of ru-llm"):  # overwrite spares a user's folder
        check_out_dir(tmp_path, True)
    (tmp_path / ".ru-llm-output").write_text("{}", encoding="utf-8")
    check_out_dir(tmp_path, True)  # one that ru-llm made may be replaced
    check_out_dir(tmp_path / "new", False)


@pytest.mark.slow
def test_a_faithful_copy_passes_and_a_changed_chat_template_fails(small_qwen: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(small_qwen, copy)
    verify_tokenizer(copy, small_qwen, keeps_base_ids=True)
    config_path = copy / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["chat_template"] = "{{ messages }}"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(AssertionError, match="chat template"):
        verify_tokenizer(copy, small_qwen)


@pytest.mark.slow
def test_a_moved_base_id_fails_in_extend_mode(small_qwen: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(small_qwen, copy)
    data = json.loads((copy / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    vocab["a"], vocab["b"] = vocab["b"], vocab["a"]  # two ids swapped: every text still round-trips
    (copy / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    for name in ("vocab.json", "merges.txt"):
        (copy / name).unlink(missing_ok=True)
    verify_tokenizer(copy, small_qwen)  # fine for a replaced vocabulary
    with pytest.raises(AssertionError, match="changed id"):
        verify_tokenizer(copy, small_qwen, keeps_base_ids=True)


@pytest.mark.slow
def test_a_base_tokenizer_already_loaded_is_the_one_compared(small_qwen: Path) -> None:
    from transformers import AutoTokenizer

    base = AutoTokenizer.from_pretrained(small_qwen)
    assert verify_tokenizer(small_qwen, small_qwen, keeps_base_ids=True, base_tokenizer=base).get_vocab() == (
        base.get_vocab()
    )
    base.chat_template = "{{ messages }}"  # the loaded one, not the directory, is what verify compares with
    with pytest.raises(AssertionError, match="chat template"):
        verify_tokenizer(small_qwen, small_qwen, base_tokenizer=base)
