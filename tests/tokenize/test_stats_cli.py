"""`tokenize stats` as a command: JSON rows, the side-by-side table, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from conftest import REPO
from typer.testing import CliRunner

from ru_llm.cli.group import RuLLMGroup
from ru_llm.tokenize.commands.stats_cmd import stats_command
from ru_llm.tokenize.stats import text_file_stats

RU_DEV = REPO / "tests" / "data" / "text" / "ru_ud_gsd_dev.txt"
TOKENIZERS = REPO / "tests" / "data" / "tokenizers"
KEYS = [
    "text", "tokenizer", "tokens", "characters", "words", "chars_per_token", "tokens_per_word",
    "cyrillic_characters", "cyrillic_tokens", "cyrillic_chars_per_token",
]  # fmt: skip


def run(*args: object):
    """Mount the command as the CLI will (under a RuLLMGroup, which turns user errors into one line)."""
    app = typer.Typer(cls=RuLLMGroup, pretty_exceptions_enable=False)
    app.callback()(lambda: None)
    app.command("stats")(stats_command)
    return CliRunner().invoke(app, ["stats", *map(str, args)], env={"COLUMNS": "200"})


@pytest.fixture
def english(tmp_path: Path) -> Path:
    path = tmp_path / "en.txt"
    path.write_text("The quick brown fox jumps over the lazy dog.\nTokenizers count tokens.\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_json_has_one_row_per_text_and_tokenizer(real_tokenizer, english: Path) -> None:
    names = ["qwen2.5", "llama2", "mistral-7b-v0.1"]
    args = [a for n in names for a in ("--tokenizer", TOKENIZERS / n)]
    result = run(*args, "--text", RU_DEV, "--text", english, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["text"], r["tokenizer"]) for r in rows] == [
        (str(t), str(TOKENIZERS / n)) for t in (RU_DEV, english) for n in names
    ]
    for row in rows:
        assert list(row) == KEYS
        expected = text_file_stats(real_tokenizer(Path(row["tokenizer"]).name), Path(row["text"]))
        assert {k: row[k] for k in KEYS[2:]} == expected
    ru = {Path(r["tokenizer"]).name: r["chars_per_token"] for r in rows if r["text"] == str(RU_DEV)}
    assert ru["mistral-7b-v0.1"] < ru["llama2"] < ru["qwen2.5"]
    en = {Path(r["tokenizer"]).name: r["chars_per_token"] for r in rows if r["text"] == str(english)}
    assert all(en[name] > ru[name] + 1 for name in names)


@pytest.mark.slow
def test_the_table_shows_tokenizers_side_by_side(real_tokenizer, tmp_path: Path, english: Path) -> None:
    import gzip
    import shutil

    llama3 = tmp_path / "llama3"  # its tokenizer.json is stored gzipped
    llama3.mkdir()
    shutil.copy(TOKENIZERS / "llama3" / "tokenizer_config.json", llama3)
    with gzip.open(TOKENIZERS / "llama3" / "tokenizer.json.gz", "rb") as src:
        (llama3 / "tokenizer.json").write_bytes(src.read())
    result = run("-t", TOKENIZERS / "qwen2.5", "-t", llama3, "--text", RU_DEV, "--text", english)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for header in ("text", "tokenizer", "chars/token", "tokens/word", "tokens", "characters", "words"):
        assert header in out
    lines = [line for line in out.splitlines() if "qwen2.5" in line or "llama3" in line]
    assert len(lines) == 4 and "ru_ud_gsd_dev.txt" in lines[0] and "en.txt" in lines[2]
    stats = text_file_stats(real_tokenizer("llama3"), RU_DEV)
    assert f"{stats['chars_per_token']:.3f}" in lines[1] and f"{stats['tokens']:,}" in lines[1]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"PK\x03\x04\x00\x00binary", "looks binary"), ("текст".encode("cp1251"), "not UTF-8")],
)
def test_a_bad_text_is_one_line_naming_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    # The text is checked before any tokenizer is loaded: this tokenizer does not even exist.
    result = run("--tokenizer", tmp_path / "missing", "--text", RU_DEV, "--text", bad)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: text {bad}: {message}")
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_a_directory_without_a_tokenizer_is_one_line(tmp_path: Path) -> None:
    result = run("--tokenizer", tmp_path, "--text", RU_DEV, "--json")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: tokenizer {tmp_path}: the directory has no tokenizer files")
    assert "(hint: pass a local directory" in result.stderr and result.stderr.count("\n") == 1


def test_tokenizer_and_text_are_required() -> None:
    assert run("--text", RU_DEV).exit_code == 2
    assert run("--tokenizer", TOKENIZERS / "qwen2.5").exit_code == 2
