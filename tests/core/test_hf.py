"""core's one tokenizer loader: local directory or hub id, no remote code unless asked, one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ru_llm.core import ConfigError, RuLLMError
from ru_llm.core.hf import load_tokenizer

QWEN = Path(__file__).parents[1] / "data" / "tokenizers" / "qwen2.5"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list:
    """``AutoTokenizer.from_pretrained`` replaced by a recorder (no tokenizer is really read)."""
    from transformers import AutoTokenizer

    seen: list = []

    def record(name, **kwargs):
        seen.append((name, kwargs))
        return "tokenizer"

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", record)
    return seen


def test_a_local_directory_and_a_hub_id_never_run_remote_code_unless_asked(calls: list) -> None:
    assert load_tokenizer(QWEN) == "tokenizer"
    assert load_tokenizer("someone/some-model", trust_remote_code=True, use_fast=True) == "tokenizer"
    assert calls == [
        (str(QWEN), {"trust_remote_code": False}),
        ("someone/some-model", {"trust_remote_code": True, "use_fast": True}),
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d, "the directory has no tokenizer files"),
        (lambda d: d / "no" / "such", "no such directory"),
    ],
)
def test_no_tokenizer_is_a_one_line_error_naming_the_place(tmp_path: Path, calls: list, make, message) -> None:
    source = make(tmp_path)
    with pytest.raises(RuLLMError) as info:
        load_tokenizer(source, hint="pass a model directory")
    assert str(info.value).startswith(f"tokenizer {source}: {message}") and info.value.hint == "pass a model directory"
    assert calls == []


def test_a_broken_tokenizer_gives_the_first_line_of_the_reason(tmp_path: Path, monkeypatch) -> None:
    from transformers import AutoTokenizer

    def broken(name, **kwargs):
        raise ValueError("the vocabulary is broken\n  File ..., line 3\nmore noise")

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", broken)
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(RuLLMError) as info:
        load_tokenizer(tmp_path)
    assert str(info.value) == f"tokenizer {tmp_path}: cannot be loaded: the vocabulary is broken"


def test_missing_transformers_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ConfigError) as info:
        load_tokenizer(QWEN, package="ru-llm-translate", extra="hf")
    assert "needs transformers, which is not installed" in str(info.value)
    assert info.value.hint == 'pip install "ru-llm-translate[hf]"'
