"""`tokenize extend` as a command: a working run, JSON report, and one-line errors with nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from conftest import REPO
from typer.testing import CliRunner

from ru_llm.cli.group import RuLLMGroup
from ru_llm.tokenize.extend_cmd import extend_command

DATA = REPO / "tests" / "data"
RU_DEV = DATA / "text" / "ru_ud_gsd_dev.txt"
QWEN = DATA / "tokenizers" / "qwen2.5"


def run(*args: object):
    """Mount the command as the CLI will (under a RuLLMGroup, which turns user errors into one line)."""
    app = typer.Typer(cls=RuLLMGroup, pretty_exceptions_enable=False)
    app.callback()(lambda: None)
    app.command("extend")(extend_command)
    return CliRunner().invoke(app, ["extend", *map(str, args)], env={"COLUMNS": "200"})


def test_extend_writes_a_loadable_tokenizer_and_reports_json(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    out = tmp_path / "out"
    result = run("--base", QWEN, "--corpus", RU_DEV, "--corpus", f"{RU_DEV}@2", "--add", 40, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["new_tokens"] == 40 and report["first_new_id"] == 151665
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert len(tokenizer) == 151665 + 40


@pytest.mark.slow
def test_extend_prints_a_summary_table(tmp_path: Path) -> None:
    result = run("--base", QWEN, "--corpus", RU_DEV, "--add", 20, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "new tokens" in result.output and "151665" in result.output


def test_sentencepiece_base_is_one_line_error(tmp_path: Path) -> None:
    result = run("--base", DATA / "tokenizers" / "llama2", "--corpus", RU_DEV, "--add", 10, "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert "SentencePiece extension is not available yet" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_bad_corpus_and_too_large_add_are_one_line_errors(tmp_path: Path) -> None:
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02")
    result = run("--base", QWEN, "--corpus", binary, "--add", 10, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "looks binary" in result.output and str(binary) in result.output
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("Мама мыла раму.\n", encoding="utf-8")
    result = run("--base", QWEN, "--corpus", tiny, "--add", 500, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "the corpus supports only" in result.output
    result = run("--base", tmp_path, "--corpus", tiny, "--add", 5, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "has no tokenizer.json" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.txt", "tiny.txt"]
