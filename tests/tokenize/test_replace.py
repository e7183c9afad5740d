"""`tokenize replace`: a new vocabulary in the base's place, the trainer picked by kind, errors, resize-model after."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from conftest import REPO
from typer.testing import CliRunner

from ru_llm.cli.group import RuLLMGroup
from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.commands.replace_cmd import replace_command
from ru_llm.tokenize.corpus import weighted_texts
from ru_llm.tokenize.replace import copy_base_files, pick_trainer, replace_vocabulary

DATA = REPO / "tests" / "data"
RU_DEV = DATA / "text" / "ru_ud_gsd_dev.txt"
QWEN = DATA / "tokenizers" / "qwen2.5"
LLAMA2 = DATA / "tokenizers" / "llama2"


def run(*args: object):
    """Mount the command as the CLI does (under a RuLLMGroup, which turns user errors into one line)."""
    app = typer.Typer(cls=RuLLMGroup, pretty_exceptions_enable=False)
    app.callback()(lambda: None)
    app.command("replace")(replace_command)
    return CliRunner().invoke(app, ["replace", *map(str, args)], env={"COLUMNS": "200"})


def one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


@pytest.mark.slow
def test_replace_qwen_reports_json_and_counts_the_base_tokens_kept(real_tokenizer, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    out = tmp_path / "out"
    result = run("--base", QWEN, "--corpus", RU_DEV, "--vocab-size", 1000, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["trainer"] == "byte-level-bpe" and report["vocab_size"] == 1000
    assert report["base_vocab"] == 151665 and report["out_dir"] == str(out)
    new, base = AutoTokenizer.from_pretrained(out), real_tokenizer("qwen2.5")
    assert report["kept_base_tokens"] == len(new.get_vocab().keys() & base.get_vocab().keys())
    assert 900 < report["kept_base_tokens"] < 1000  # bytes, specials and most short pieces; not every word
    assert report["special_tokens"][:3] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.slow
def test_replace_prints_a_table_and_the_next_step(small_qwen: Path, tmp_path: Path) -> None:
    result = run("--base", small_qwen, "--corpus", RU_DEV, "--vocab-size", 500, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "base tokens kept" in result.output and "and 18 more" in result.output  # 22 special tokens
    assert "ru-llm tokenize resize-model" in result.output


@pytest.mark.slow
def test_sentencepiece_base_gets_a_sentencepiece_trainer(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    out = tmp_path / "out"
    result = run("--base", LLAMA2, "--corpus", RU_DEV, "--vocab-size", 1000, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trainer"] == "sentencepiece-bpe"
    new = AutoTokenizer.from_pretrained(out)
    assert len(new) == 1000 and new.bos_token == "<s>" and new("Привет")["input_ids"][0] == new.bos_token_id


@pytest.mark.slow
def test_the_trainer_is_picked_by_the_base_kind(real_tokenizer) -> None:
    assert pick_trainer(QWEN).name == "byte-level-bpe"
    assert pick_trainer(Path(real_tokenizer("llama3").name_or_path)).name == "byte-level-bpe"
    assert pick_trainer(LLAMA2).name == "sentencepiece-bpe"
    assert pick_trainer(QWEN, "bpe").name == "byte-level-bpe"


@pytest.mark.slow
def test_a_trainer_that_does_not_fit_names_those_that_do(small_qwen: Path, tmp_path: Path) -> None:
    one_line_error(
        run("--base", LLAMA2, "--trainer", "bpe", "--corpus", RU_DEV, "--vocab-size", 500, "--out", tmp_path / "o"),
        "trainer 'bpe': cannot learn a vocabulary of the same kind", "fit this base: sentencepiece-bpe",
    )  # fmt: skip
    one_line_error(
        run("--base", small_qwen, "--trainer", "wordpiece", "--corpus", RU_DEV, "--vocab-size", 500,
            "--out", tmp_path / "o"),
        "unknown tokenizer trainer 'wordpiece'",
    )  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_a_base_no_trainer_can_reproduce(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models

    wordpiece = tmp_path / "wordpiece"
    wordpiece.mkdir()
    Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]")).save(str(wordpiece / "tokenizer.json"))
    with pytest.raises(RuLLMError, match="no registered trainer can learn a vocabulary of this tokenizer's kind"):
        replace_vocabulary(wordpiece, [("текст", 1.0)], 500, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_base_problems_are_one_line_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    common = ("--corpus", RU_DEV, "--vocab-size", 500, "--out", tmp_path / "o")
    one_line_error(run("--base", empty, *common), f"base {empty}: the directory has no tokenizer")
    one_line_error(run("--base", tmp_path / "nowhere", *common), "no such directory")
    one_line_error(run("--base", RU_DEV, *common), "is a file, not a directory")
    one_line_error(run("--base", QWEN, "--corpus", RU_DEV, "--vocab-size", 500, "--out", QWEN), "holds an input")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


@pytest.mark.slow
def test_corpus_and_size_problems_are_one_line_errors_and_leave_nothing(small_qwen: Path, tmp_path: Path) -> None:
    cp1251 = tmp_path / "cp1251.txt"
    cp1251.write_bytes("Привет, мир!\n".encode("cp1251"))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    out = tmp_path / "out"
    base = ("--base", small_qwen, "--out", out, "--corpus")  # Qwen's 256 bytes and 22 added tokens
    one_line_error(run(*base, cp1251, "--vocab-size", 500), "not UTF-8")
    one_line_error(run(*base, empty, "--vocab-size", 500), "is empty")
    one_line_error(run(*base, RU_DEV, "--vocab-size", 100), "vocabulary size 100", "needs at least 278")
    one_line_error(run(*base, RU_DEV, "--vocab-size", 50_000), "the corpus supports at most", "or use a larger corpus")
    out.mkdir()
    (out / "mine.txt").write_text("keep", encoding="utf-8")
    one_line_error(run(*base, RU_DEV, "--vocab-size", 500), "already exists and is not empty")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp1251.txt", "empty.txt", "out"]


def test_copy_base_files_points_ids_at_the_new_vocabulary(tmp_path: Path) -> None:
    base, out = tmp_path / "base", tmp_path / "out"
    base.mkdir()
    out.mkdir()
    decoder = {
        "5": {"content": "<s>", "special": True},
        "6": {"content": "</s>", "special": True},
        "7": {"content": "<gone>", "special": True},
    }
    config = {"chat_template": "{{ messages }}", "padding_side": "left", "added_tokens_decoder": decoder}
    (base / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    generation = {"bos_token_id": 5, "eos_token_id": [6, 7], "pad_token_id": 7, "temperature": 0.7}
    (base / "generation_config.json").write_text(json.dumps(generation), encoding="utf-8")
    (base / "added_tokens.json").write_text(json.dumps({"<s>": 5, "<gone>": 7}), encoding="utf-8")
    for name in ("special_tokens_map.json", "chat_template.jinja", "config.json", "model.safetensors", "x.model"):
        (base / name).write_text("{}", encoding="utf-8")
    copy_base_files(
        base, out, old_tokens={5: "<s>", 6: "</s>", 7: "<gone>"}, new_ids={"<s>": 1, "</s>": 2}, skip=["x.model"]
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "added_tokens.json", "chat_template.jinja", "generation_config.json", "special_tokens_map.json",
        "tokenizer_config.json",
    ]  # fmt: skip
    assert json.loads((out / "added_tokens.json").read_text(encoding="utf-8")) == {"<s>": 1}
    new_config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert new_config["added_tokens_decoder"] == {"1": decoder["5"], "2": decoder["6"]}
    assert new_config["chat_template"] == "{{ messages }}" and new_config["padding_side"] == "left"
    new_generation = json.loads((out / "generation_config.json").read_text(encoding="utf-8"))
    assert new_generation == {"bos_token_id": 1, "eos_token_id": [2], "temperature": 0.7}


@pytest.mark.slow
def test_resize_model_works_on_a_replaced_tokenizer(tiny_model, tmp_path: Path) -> None:
    """The tiny Qwen2 model dir as the base (weights and generation config beside its tokenizer), then resized."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ru_llm.tokenize.resize import resize_model

    model_dir = tiny_model("qwen2")
    replaced = tmp_path / "tok"
    report = replace_vocabulary(model_dir, weighted_texts([str(RU_DEV)]), 1000, replaced)
    assert not (replaced / "model.safetensors").exists() and not (replaced / "config.json").exists()
    resized = resize_model(model_dir, replaced, tmp_path / "model")
    assert resized.mode == "replace" and resized.new_vocab == 1000 and resized.new_rows == 1024
    assert resized.copied == report.kept_base_tokens and resized.initialized == 1000 - report.kept_base_tokens

    old_model = AutoModelForCausalLM.from_pretrained(model_dir)
    old_tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    tok = AutoTokenizer.from_pretrained(tmp_path / "model")
    old_in = old_model.get_input_embeddings().weight.detach()
    new_in = model.get_input_embeddings().weight.detach()
    for token in ("<|im_end|>", "Ð°", "Ġ"):  # a special token, "а" and a space keep their rows by string
        assert torch.equal(new_in[tok.convert_tokens_to_ids(token)], old_in[old_tok.convert_tokens_to_ids(token)])
    old_eos = old_tok.convert_ids_to_tokens(old_model.config.eos_token_id)
    assert model.config.eos_token_id == tok.convert_tokens_to_ids(old_eos) != old_model.config.eos_token_id
    batch = tok.apply_chat_template([{"role": "user", "content": "Привет, мир"}], return_tensors="pt", return_dict=True)
    assert torch.isfinite(model(**batch).logits).all()


@pytest.mark.slow
def test_a_broken_base_fails_before_the_corpus_is_read(small_qwen: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"  # never read: each error comes first
    model_only = tmp_path / "model_only"
    model_only.mkdir()
    (model_only / "tokenizer.model").write_bytes((LLAMA2 / "tokenizer.model").read_bytes())
    one_line_error(
        run("--base", model_only, "--corpus", missing, "--vocab-size", 500, "--out", tmp_path / "o"),
        "without tokenizer_config.json", "copy the model's tokenizer_config.json",
    )  # fmt: skip
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in small_qwen.iterdir():
        (broken / item.name).write_bytes(item.read_bytes())
    (broken / "tokenizer_config.json").write_text("{not json", encoding="utf-8")
    one_line_error(
        run("--base", broken, "--corpus", missing, "--vocab-size", 500, "--out", tmp_path / "o"),
        f"tokenizer {broken}: cannot be loaded",
    )
    one_line_error(
        run("--base", QWEN, "--corpus", missing, "--vocab-size", 10**9, "--out", tmp_path / "o"),
        "far beyond any model's vocabulary",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "model_only"]
