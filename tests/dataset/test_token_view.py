"""Token ids read as the tokenizer decodes them: spaces and Cyrillic kept for SentencePiece and byte-level BPE."""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO
from kit.dataset_cli import invoke_render

from ru_llm.dataset.token_view import Elided, decoded_spans, elide_context, token_pieces

SENTENCE = "Ты русскоязычный автоматический ассистент."


@pytest.mark.parametrize("name", ["llama2", "mistral-7b-v0.1", "qwen2.5", "llama3"])
def test_spans_keep_the_spaces_between_words(real_tokenizer, name: str) -> None:
    tok = real_tokenizer(name)
    ids = tok(SENTENCE + " Привет, мир!", add_special_tokens=False)["input_ids"]
    cut = len(tok(SENTENCE, add_special_tokens=False)["input_ids"])
    spans = decoded_spans(tok, ids, [False] * cut + [True] * (len(ids) - cut))
    assert spans == [(SENTENCE, False), (" Привет, мир!", True)]


@pytest.mark.parametrize("name", ["llama2", "qwen2.5"])
def test_each_piece_shows_its_word_start(real_tokenizer, name: str) -> None:
    tok = real_tokenizer(name)
    ids = tok(SENTENCE + "\nОк", add_special_tokens=False)["input_ids"]
    pieces = token_pieces(tok, ids)
    assert "".join(pieces).replace("▁", " ").strip() == SENTENCE + "\\nОк"
    # русскоязычный, автоматический, ассистент; SentencePiece also marks the first word
    assert sum(p.startswith("▁") for p in pieces) == (4 if name == "llama2" else 3)
    assert all("\ufffd" not in p for p in pieces)


def test_special_tokens_keep_their_names(real_tokenizer) -> None:
    tok = real_tokenizer("qwen2.5")
    ids = tok("<|im_start|>user\nПривет<|im_end|>", add_special_tokens=False)["input_ids"]
    pieces = token_pieces(tok, ids)
    assert pieces[0] == "<|im_start|>" and pieces[-1] == "<|im_end|>" and "\\n" in pieces


@pytest.mark.parametrize("name", ["llama2", "qwen2.5"])
def test_a_byte_that_is_part_of_a_character_is_shown_as_a_byte(real_tokenizer, name: str) -> None:
    tok = real_tokenizer(name)
    ids = tok("𒀀", add_special_tokens=False)["input_ids"]  # a cuneiform sign: four UTF-8 bytes, no token of its own
    pieces = token_pieces(tok, ids)
    assert "".join(pieces).replace("▁", "") == "<0xF0><0x92><0x80><0x80>"
    assert decoded_spans(tok, ids, [True] * len(ids))[0][0].strip() == "𒀀"


def test_long_context_runs_are_elided_and_trained_tokens_never() -> None:
    trained = [False] * 100 + [True] * 30 + [False] * 5 + [True] * 2
    rows = elide_context(trained, head=3, tail=4)
    assert rows[:3] == [0, 1, 2] and rows[3] == Elided(93) and rows[4:8] == [96, 97, 98, 99]
    assert [r for r in rows if isinstance(r, int) and trained[r]] == [*range(100, 130), 135, 136]
    assert [r for r in rows if isinstance(r, int) and 130 <= r < 135] == [130, 131, 132, 133, 134]  # short run kept


def test_render_lists_sentencepiece_tokens_with_their_word_starts(tmp_path) -> None:
    messages = [{"role": "user", "content": "Кто ты?"}, {"role": "assistant", "content": SENTENCE}]
    record = {"id": "a", "messages": messages}
    data = tmp_path / "conv.jsonl"
    data.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    llama2 = REPO / "tests" / "data" / "tokenizers" / "llama2"
    result = invoke_render(data, "-t", "saiga", "--tokenizer", llama2)
    assert result.exit_code == 0, result.output
    assert "▁рус(14251, 14251)" in result.output  # a trained word start
    assert re.search(r"▁ты\(\d+, -100\)", result.output)  # a context word start
