"""`ru-llm dataset render` on preference pairs: only the final reply is trainable, as DPO trains it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO
from kit.dataset_cli import invoke_render as invoke

from ru_llm.dataset.preference import preference_from_dict
from ru_llm.dataset.registry import get_template
from ru_llm.dataset.templates.hf import load_tokenizer
from ru_llm.dataset.templates.preference import _final_reply_only, final_reply_only, tokenize_preference

QWEN = REPO / "tests" / "data" / "tokenizers" / "qwen2.5"
EARLIER = "Hello there, friend"
PAIR = {
    "id": "mt",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": EARLIER},
        {"role": "user", "content": "Capital of France?"},
    ],
    "chosen": "Paris.",
    "rejected": "Lyon.",
}
COLOR = {"FORCE_COLOR": "1", "TERM": "xterm-256color", "NO_COLOR": None}
GREEN = "\x1b[1;32m"


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(PAIR) + "\n", encoding="utf-8")
    return path


def test_the_old_private_name_still_works() -> None:
    assert _final_reply_only is final_reply_only


def test_text_marks_only_the_final_reply(pairs: Path) -> None:
    result = invoke(pairs, "-t", "chatml", env=COLOR)
    assert result.exit_code == 0, result.output
    assert "mt (chosen)" in result.output and "mt (rejected)" in result.output
    assert f"{GREEN}Paris.<|im_end|>" in result.output and f"{GREEN}Lyon.<|im_end|>" in result.output
    assert f"{GREEN}{EARLIER}" not in result.output and EARLIER in result.output
    plain = invoke(pairs, "-t", "chatml")
    # "Paris.<|im_end|>" and "Lyon.<|im_end|>": the earlier reply (19 characters) is not counted
    assert "trainable: 16" in plain.output and "trainable: 15" in plain.output
    assert "trainable: 35" not in plain.output and "trainable: 34" not in plain.output


def test_tokens_are_what_tokenize_preference_trains(pairs: Path) -> None:
    result = invoke(pairs, "-t", "chatml", "--tokenizer", QWEN)
    assert result.exit_code == 0, result.output
    tok = load_tokenizer(QWEN)
    pair = preference_from_dict(PAIR)
    tokens = tokenize_preference(pair.prompt, pair.chosen, pair.rejected, get_template("chatml"), tok)
    friend = tok.encode(" friend", add_special_tokens=False)
    assert len(friend) == 1 and f"▁friend({friend[0]}, -100)" in result.output  # the earlier reply: context
    assert "<|im_end|>(151645, 151645)" in result.output  # the final reply's end of turn is trained
    lines = [line for line in result.output.splitlines() if line.startswith("tokens: ")]
    assert lines == [
        f"tokens: {len(tokens.prompt_ids) + len(tokens.chosen_ids)}, trainable: {len(tokens.chosen_ids)}",
        f"tokens: {len(tokens.prompt_ids) + len(tokens.rejected_ids)}, trainable: {len(tokens.rejected_ids)}",
    ]
    assert tok.decode(tokens.chosen_ids) == "Paris.<|im_end|>"


def test_prompt_shows_the_prompt_once(pairs: Path) -> None:
    result = invoke(pairs, "-t", "chatml", "--prompt")
    assert result.exit_code == 0, result.output
    assert EARLIER in result.output and "Paris." not in result.output
    assert result.output.rstrip().endswith("<|im_start|>assistant")
