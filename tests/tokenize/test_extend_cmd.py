"""`tokenize extend` as a command: a working run, JSON report, and one-line errors with nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from conftest import REPO
from typer.testing import CliRunner

from ru_llm.cli.group import RuLLMGroup
from ru_llm.tokenize.commands.extend_cmd import extend_command

DATA = REPO / "tests" / "data"
RU_DEV = DATA / "text" / "ru_ud_gsd_dev.txt"


def run(*args: object):
    """Mount the command as the CLI will (under a RuLLMGroup, which turns user errors into one line)."""
    app = typer.Typer(cls=RuLLMGroup, pretty_exceptions_enable=False)
    app.callback()(lambda: None)
    app.command("extend")(extend_command)
    return CliRunner().invoke(app, ["extend", *map(str, args)], env={"COLUMNS": "200"})


def first_new_id(base: Path) -> int:
    """One past the highest id of a byte-level BPE base (model vocabulary and added tokens)."""
    data = json.loads((base / "tokenizer.json").read_text(encoding="utf-8"))
    return max([*data["model"]["vocab"].values(), *(t["id"] for t in data["added_tokens"])]) + 1


@pytest.mark.slow
def test_extend_writes_a_loadable_tokenizer_and_reports_json(small_qwen: Path, tmp_path: Path) -> None:
    # Qwen2.5's pipeline on a small vocabulary: the command's wiring does not depend on the vocabulary's size,
    # and tests/tokenize/test_bpe_extend.py extends the real 151,665-token Qwen2.5 and LLaMA-3.
    from transformers import AutoTokenizer

    out = tmp_path / "out"
    args = ("--base", small_qwen, "--corpus", RU_DEV, "--corpus", f"{RU_DEV}@2", "--add", 40, "--out", out, "--json")
    result = run(*args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    base_size = first_new_id(small_qwen)
    assert report["new_tokens"] == 40 and report["first_new_id"] == report["base_vocab"] + 22 == base_size
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert len(tokenizer) == base_size + 40 and len(AutoTokenizer.from_pretrained(small_qwen)) == base_size


@pytest.mark.slow
def test_extend_prints_a_summary_table(small_qwen: Path, tmp_path: Path) -> None:
    result = run("--base", small_qwen, "--corpus", RU_DEV, "--add", 20, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "new tokens" in result.output and str(first_new_id(small_qwen)) in result.output


@pytest.mark.slow
def test_sentencepiece_base_gets_new_pieces(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    out = tmp_path / "out"
    result = run("--base", DATA / "tokenizers" / "mistral-7b-v0.1", "--corpus", RU_DEV, "--add", 30, "--out", out)
    assert result.exit_code == 0, result.output
    assert "new tokens" in result.output and "32000" in result.output
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert len(tokenizer) == 32000 + 30 and (out / "tokenizer.model").is_file()


def test_sentencepiece_unigram_base_is_one_line_error(unigram_model: bytes, tmp_path: Path) -> None:
    base = tmp_path / "unigram"
    base.mkdir()
    (base / "tokenizer.model").write_bytes(unigram_model)
    result = run("--base", base, "--corpus", RU_DEV, "--add", 10, "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert "is a SentencePiece unigram tokenizer" in result.output and "tokenize replace" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_bad_corpus_and_too_large_add_are_one_line_errors(small_qwen: Path, tmp_path: Path) -> None:
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02")
    result = run("--base", small_qwen, "--corpus", binary, "--add", 10, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "looks binary" in result.output and str(binary) in result.output
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("Мама мыла раму.\n", encoding="utf-8")
    result = run("--base", small_qwen, "--corpus", tiny, "--add", 500, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "the corpus supports only" in result.output
    result = run("--base", tmp_path, "--corpus", tiny, "--add", 5, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "has no tokenizer.json" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.txt", "tiny.txt"]


def test_a_hub_id_is_fetched_as_tokenizer_files_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    from ru_llm.tokenize.loading import tokenizer_dir

    calls = []

    def fake_download(repo_id, allow_patterns):
        calls.append((repo_id, allow_patterns))
        return str(tmp_path)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download)
    assert tokenizer_dir("Qwen/Qwen2.5-7B") == tmp_path
    assert calls[0][0] == "Qwen/Qwen2.5-7B"
    assert {"tokenizer.json", "merges.txt", "tokenizer_config.json", "chat_template.json"} <= set(calls[0][1])
    assert not any(p.endswith(".safetensors") for p in calls[0][1])
    assert tokenizer_dir(tmp_path) == tmp_path and len(calls) == 1  # a local directory is never fetched


def test_a_hub_id_the_hub_cannot_provide_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    def offline(repo_id, allow_patterns):
        raise OSError("offline mode is enabled")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    result = run(
        "--base", "someone/no-such-tokenizer", "--corpus", "wordfreq:ru", "--add", "10", "--out", tmp_path / "o"
    )
    assert result.exit_code == 1
    assert "base 'someone/no-such-tokenizer': not a local directory, and the hub could not provide it" in result.output
    assert not (tmp_path / "o").exists()


def test_an_absurd_add_fails_before_anything_is_read(tmp_path: Path) -> None:
    for add in (0, 10**9):
        result = run("--base", tmp_path / "nowhere", "--corpus", "x.txt", "--add", add, "--out", tmp_path / "o")
        assert result.exit_code == 1 and f"--add {add}: must be between 1 and" in result.output
    assert list(tmp_path.iterdir()) == []
