"""`ru-llm dataset render`: highlighted text, tokens with labels, one-line errors with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO
from kit.dataset_cli import invoke_render as invoke

QWEN = REPO / "tests" / "data" / "tokenizers" / "qwen2.5"
RECORDS = [
    {"id": "a", "messages": [{"role": "user", "content": "Привет"}, {"role": "bot", "content": "Здравствуйте!"}]},
    {"id": "b", "messages": [{"role": "system", "content": "[bold]S[/bold]"}, {"role": "user", "content": "Q"},
                             {"role": "assistant", "content": "A"}]},
]  # fmt: skip


def write(path: Path, records: list, extra_lines: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write(tmp_path / "conv.jsonl", RECORDS)


def test_shows_the_rendered_text(data: Path) -> None:
    result = invoke(data, "--template", "saiga")
    assert result.exit_code == 0, result.output
    assert "<s> bot\nЗдравствуйте! </s>" in result.output
    assert "[bold]S[/bold]" in result.output  # user text is never read as rich markup
    assert "characters:" in result.output and "trainable: 18" in result.output


def test_trainable_text_is_green(data: Path) -> None:
    result = invoke(
        data, "-t", "chatml", "--limit", "1", env={"FORCE_COLOR": "1", "TERM": "xterm-256color", "NO_COLOR": None}
    )
    assert result.exit_code == 0, result.output
    assert "\x1b[1;32mЗдравствуйте!<|im_end|>\x1b[0m" in result.output
    assert "Привет" in result.output and " b " not in result.output


def test_limit_and_prompt(data: Path) -> None:
    result = invoke(data, "-t", "llama3", "--limit", "1", "--prompt")
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("<|start_header_id|>assistant<|end_header_id|>")
    assert "Q" not in result.output


def test_tokens_with_labels(data: Path) -> None:
    result = invoke(data, "-t", "chatml", "--tokenizer", QWEN, "--limit", "1")
    assert result.exit_code == 0, result.output
    assert "<|im_start|>(151644, -100)" in result.output
    assert "<|im_end|>(151645, 151645)" in result.output
    assert "tokens: " in result.output


def test_hf_template_reads_the_tokenizers_own(data: Path) -> None:
    result = invoke(data, "-t", "hf", "--tokenizer", QWEN, "--limit", "1")
    assert result.exit_code == 0, result.output
    assert "You are Qwen" in result.output


def test_hf_without_tokenizer_is_a_one_line_error(data: Path) -> None:
    result = invoke(data, "-t", "hf")
    assert result.exit_code == 1
    assert "needs a tokenizer" in result.output and "Traceback" not in result.output


def test_unknown_template_lists_the_known_ones(data: Path) -> None:
    result = invoke(data, "-t", "saига")
    assert result.exit_code == 1
    assert "unknown template" in result.output and "chatml" in result.output


def test_a_bad_record_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", RECORDS[:1], ('{"id": "x", "messages": []}',))
    result = invoke(path, "-t", "saiga", "--limit", "0")
    assert result.exit_code == 1
    assert f"{path}:2" in result.output and "'messages' is empty" in result.output


def test_a_record_the_template_refuses_names_file_and_line(tmp_path: Path) -> None:
    late = {"id": "late", "messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}]}
    path = write(tmp_path / "late.jsonl", [RECORDS[0], late])
    result = invoke(path, "-t", "mistral")
    assert result.exit_code == 1
    assert f"{path}:2: record 'late'" in result.output


def test_a_reply_truncated_away_is_an_error(data: Path) -> None:
    result = invoke(data, "-t", "chatml", "--tokenizer", QWEN, "--max-length", "3")
    assert result.exit_code == 1
    assert ":1: record 'a': no trainable token" in result.output


def test_missing_tokenizer_directory(data: Path, tmp_path: Path) -> None:
    result = invoke(data, "-t", "chatml", "--tokenizer", tmp_path / "nope")
    assert result.exit_code == 1
    assert "nope: no such directory" in result.output
