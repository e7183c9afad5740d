"""`tokenize train` and `tokenize trainers` as commands: working runs, JSON, and one-line errors leaving nothing."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from conftest import REPO
from typer.testing import CliRunner

from ru_llm.cli.group import RuLLMGroup
from ru_llm.tokenize.commands.train_cmd import train_command, trainers_command

RU_DEV = REPO / "tests" / "data" / "text" / "ru_ud_gsd_dev.txt"


def run(*args: object):
    """Mount the commands as the CLI does (under a RuLLMGroup, which turns user errors into one line)."""
    app = typer.Typer(cls=RuLLMGroup, pretty_exceptions_enable=False)
    app.callback()(lambda: None)
    app.command("train")(train_command)
    app.command("trainers")(trainers_command)
    return CliRunner().invoke(app, list(map(str, args)), env={"COLUMNS": "200"})


def test_train_writes_a_loadable_tokenizer_and_reports_json(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    out = tmp_path / "out"
    result = run(
        "train", "--trainer", "bpe", "--corpus", RU_DEV, "--corpus", f"{RU_DEV}@2", "--vocab-size", 600,
        "--special", "<|endoftext|>", "--special", "<|im_start|>", "--out", out, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["trainer"] == "byte-level-bpe" and report["vocab_size"] == 600 and report["texts"] == 2
    assert report["special_tokens"] == ["<|endoftext|>", "<|im_start|>"] and report["out_dir"] == str(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert len(tokenizer) == 600 and tokenizer.encode("<|im_start|>", add_special_tokens=False) == [599]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp dir left beside it


def test_train_prints_a_summary_table(tmp_path: Path) -> None:
    result = run("train", "--trainer", "byte-level-bpe", "--corpus", RU_DEV, "--vocab-size", 400, "--out", tmp_path)
    assert result.exit_code == 0, result.output  # an existing empty --out is fine
    assert "byte-level-bpe" in result.output and "400" in result.output and "learned tokens" in result.output


def test_trainers_lists_the_builtins_as_a_table_and_json() -> None:
    result = run("trainers")
    assert result.exit_code == 0, result.output
    for name in ("byte-level-bpe", "sentencepiece-bpe", "sentencepiece-unigram", "builtin_trainers"):
        assert name in result.output
    rows = json.loads(run("trainers", "--json").stdout)
    assert [row["name"] for row in rows] == ["byte-level-bpe", "sentencepiece-bpe", "sentencepiece-unigram"]
    assert rows[0]["aliases"] == ["bpe"] and rows[0]["plugin"] == "ru_llm.tokenize.builtin_trainers"
    assert all(row["description"] for row in rows)


def one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_cheap_mistakes_fail_before_the_corpus_is_read(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"  # never read: each error comes first
    out = tmp_path / "out"
    one_line_error(
        run("train", "--trainer", "wordpiece", "--corpus", missing, "--vocab-size", 500, "--out", out),
        "unknown tokenizer trainer 'wordpiece'", "byte-level-bpe, sentencepiece-bpe, sentencepiece-unigram",
    )  # fmt: skip
    one_line_error(
        run("train", "--trainer", "bpe", "--corpus", missing, "--vocab-size", 0, "--out", out),
        "vocabulary size 0", "needs at least 257",
    )  # fmt: skip
    one_line_error(
        run("train", "--trainer", "bpe", "--corpus", missing, "--vocab-size", 257, "--special", "<a>",
            "--special", "<b>", "--out", out),
        "vocabulary size 257", "needs at least 258",
    )  # fmt: skip
    one_line_error(
        run("train", "--trainer", "bpe", "--corpus", missing, "--vocab-size", 10**10, "--out", out),
        "vocabulary size 10000000000", "far beyond any model's vocabulary",
    )  # fmt: skip
    for special in ("", "<a>"):
        result = run("train", "--trainer", "bpe", "--corpus", missing, "--vocab-size", 500, "--special", special,
                     "--special", "<a>", "--out", out)  # fmt: skip
        one_line_error(result, "--special", "empty" if not special else "given twice")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine", encoding="utf-8")
    one_line_error(
        run("train", "--trainer", "bpe", "--corpus", missing, "--vocab-size", 500, "--out", busy),
        "already exists and is not empty", "--overwrite",
    )  # fmt: skip
    assert (busy / "keep.txt").read_text(encoding="utf-8") == "mine"
    one_line_error(run("train", "--trainer", "bpe", "--corpus", missing, "--vocab-size", 500, "--out", out), "no such")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]


def test_corpus_problems_are_one_line_errors_and_leave_nothing(tmp_path: Path) -> None:
    cp1251 = tmp_path / "cp1251.txt"
    cp1251.write_bytes("Привет, мир!\n".encode("cp1251"))
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n", encoding="utf-8")
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("Мама мыла раму.\n", encoding="utf-8")
    out = tmp_path / "out"
    base = ["train", "--trainer", "bpe", "--out", out, "--corpus"]
    one_line_error(run(*base, cp1251, "--vocab-size", 500), "not UTF-8", "iconv")
    one_line_error(run(*base, empty, "--vocab-size", 500), "is empty")
    one_line_error(run(*base, tiny, "--vocab-size", 5000), "vocabulary size 5000: the corpus supports at most")
    # --overwrite with a failing run keeps the old output (one that ru-llm made) whole
    out.mkdir()
    (out / "old.txt").write_text("old", encoding="utf-8")
    (out / ".ru-llm-output").write_text("{}", encoding="utf-8")
    one_line_error(run(*base, tiny, "--vocab-size", 5000, "--overwrite"), "the corpus supports at most")
    assert sorted(p.name for p in out.iterdir()) == [".ru-llm-output", "old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp1251.txt", "empty.txt", "out", "tiny.txt"]
