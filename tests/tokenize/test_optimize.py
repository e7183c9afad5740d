"""`tokenize optimize`: unused base tokens dropped, keep corpora split as before, ids remapped, one-line errors."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import typer
from conftest import REPO
from typer.testing import CliRunner

from ru_llm.cli.group import RuLLMGroup
from ru_llm.tokenize.commands.optimize_cmd import optimize_command

DATA = REPO / "tests" / "data"
RU_DEV = DATA / "text" / "ru_ud_gsd_dev.txt"
QWEN = DATA / "tokenizers" / "qwen2.5"
QWEN_VOCAB = 151665


def run(*args: object):
    """Mount the command as the CLI will (under a RuLLMGroup, which turns user errors into one line)."""
    app = typer.Typer(cls=RuLLMGroup, pretty_exceptions_enable=False)
    app.callback()(lambda: None)
    app.command("optimize")(optimize_command)
    return CliRunner().invoke(app, ["optimize", *map(str, args)], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small English text: the first OpenAssistant messages."""
    lines = (DATA / "translate" / "oasst_en_messages.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path_factory.mktemp("en") / "en.txt"
    path.write_text("\n".join(json.loads(line)["text"] for line in lines[:60]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def optimized(tmp_path_factory: pytest.TempPathFactory, english: Path) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("optimized") / "out"
    result = run("--base", QWEN, "--keep-corpus", RU_DEV, "--keep-corpus", english, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


@functools.cache
def fast_tokenizer(directory: Path):
    """The ``tokenizer.json`` of a directory no test changes after writing it, loaded once (a second for Qwen)."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(directory / "tokenizer.json"))


def token_strings(directory: Path, text: str) -> list[str]:
    return fast_tokenizer(directory).encode(text, add_special_tokens=False).tokens


@pytest.mark.slow
def test_keep_corpora_split_into_the_same_token_strings(optimized: tuple[Path, dict], english: Path) -> None:
    out, report = optimized
    assert report["base_vocab"] == QWEN_VOCAB and report["dropped"] > 100_000
    assert report["kept"] + report["dropped"] == QWEN_VOCAB and report["vocab_size"] == report["kept"]
    assert report["new_tokens"] == 0
    for path in (RU_DEV, english):
        text = path.read_text(encoding="utf-8")
        assert token_strings(out, text) == token_strings(QWEN, text)
    other = "Синхрофазотрон — ускоритель; café 日本語 🙂 \t\n x = {'a': 1}"
    assert "".join(token_strings(out, other)) == "".join(token_strings(QWEN, other))  # any text still encodes


@pytest.mark.slow
def test_id_map_matches_the_new_ids_and_special_tokens_follow(real_tokenizer, optimized: tuple[Path, dict]) -> None:
    from transformers import AutoTokenizer

    out, report = optimized
    id_map = json.loads((out / "id_map.json").read_text(encoding="utf-8"))
    assert id_map["dropped"] == report["dropped"] and len(id_map["old_to_new"]) == report["kept"]
    base, new = real_tokenizer("qwen2.5"), AutoTokenizer.from_pretrained(out)
    assert len(new) == report["vocab_size"] < len(base)
    old_vocab = {i: token for token, i in base.get_vocab().items()}
    new_vocab = new.get_vocab()
    assert all(new_vocab[old_vocab[int(old)]] == i for old, i in id_map["old_to_new"].items())
    assert sorted(id_map["old_to_new"].values()) == list(range(report["kept"]))  # compact, in old order
    assert list(id_map["old_to_new"].values()) == sorted(id_map["old_to_new"].values())
    for token in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]:
        assert new.convert_tokens_to_ids(token) == id_map["old_to_new"][str(base.convert_tokens_to_ids(token))]
        assert new.encode(token, add_special_tokens=False) == [new.convert_tokens_to_ids(token)]
    assert new.chat_template == base.chat_template and new.eos_token == base.eos_token


@pytest.mark.slow
def test_add_learns_russian_tokens_after_pruning(optimized: tuple[Path, dict], english: Path, tmp_path: Path) -> None:
    pruned, pruned_report = optimized
    out = tmp_path / "out"
    result = run(
        "--base", QWEN, "--keep-corpus", RU_DEV, "--keep-corpus", english, "--corpus", RU_DEV, "--add", 200,
        "--out", out, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kept"] == pruned_report["kept"] and report["new_tokens"] == 200
    assert report["vocab_size"] == report["kept"] + 200
    russian = RU_DEV.read_text(encoding="utf-8")
    assert len(token_strings(out, russian)) < len(token_strings(pruned, russian))
    text = english.read_text(encoding="utf-8")
    assert token_strings(out, text) == token_strings(QWEN, text)
    id_map = json.loads((out / "id_map.json").read_text(encoding="utf-8"))
    assert id_map == json.loads((pruned / "id_map.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_min_count_keeps_fewer_tokens_and_config_ids_follow(small_qwen: Path, english: Path, tmp_path: Path) -> None:
    import shutil

    base = tmp_path / "base"
    shutil.copytree(small_qwen, base)  # Qwen's pipeline, bytes and added tokens; a small vocabulary before them
    ids = {t["content"]: t["id"] for t in json.loads((base / "tokenizer.json").read_text("utf-8"))["added_tokens"]}
    assert ids["<|endoftext|>"] > 1000
    config = json.loads((base / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["added_tokens_decoder"] = {
        str(ids[token]): {"content": token, "special": True}
        for token in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    }
    (base / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    eos = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    (base / "generation_config.json").write_text(json.dumps({"eos_token_id": eos}), encoding="utf-8")
    out = tmp_path / "out"
    result = run("--base", base, "--keep-corpus", english, "--min-count", 1e9, "--out", out)
    assert result.exit_code == 0, result.output
    assert "dropped" in result.output and "id_map.json" in result.output
    id_map = json.loads((out / "id_map.json").read_text(encoding="utf-8"))
    assert len(id_map["old_to_new"]) == 256 + 22  # the byte tokens and the added tokens only
    new_config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert {t["content"]: int(i) for i, t in new_config["added_tokens_decoder"].items()} == {
        "<|endoftext|>": 256, "<|im_start|>": 257, "<|im_end|>": 258
    }  # fmt: skip
    assert json.loads((out / "generation_config.json").read_text(encoding="utf-8"))["eos_token_id"] == [258, 256]


@pytest.mark.slow
def test_llama3_keeps_bos_in_its_post_processor(real_tokenizer, english: Path, tmp_path: Path) -> None:
    base = Path(real_tokenizer("llama3").name_or_path)
    out = tmp_path / "out"
    result = run("--base", base, "--keep-corpus", english, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    from transformers import AutoTokenizer

    new = AutoTokenizer.from_pretrained(out)
    text = english.read_text(encoding="utf-8")
    assert new.convert_ids_to_tokens(new.encode(text)) == real_tokenizer("llama3").convert_ids_to_tokens(
        real_tokenizer("llama3").encode(text)
    )


def test_the_library_checks_typed_values_without_naming_flags() -> None:
    from ru_llm.core.errors import ConfigError
    from ru_llm.tokenize.bpe.optimize import check_options

    check_options(1, None, False)
    check_options(2.5, 10, True)
    for args, message in [
        ((0, None, False), "min_count=0: must be at least 1"),
        ((1, 10, False), "add and add_texts go together"),
        ((1, None, True), "add and add_texts go together"),
        ((1, 0, True), "new_tokens=0: must be between 1 and"),
    ]:
        with pytest.raises(ConfigError, match=message) as error:
            check_options(*args)
        assert "--" not in str(error.value) + (error.value.hint or "")


@pytest.mark.slow
def test_errors_are_one_line_and_leave_nothing(small_qwen: Path, english: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    base = small_qwen  # the errors do not depend on the vocabulary's size
    cases = [
        (("--base", DATA / "tokenizers" / "mistral-7b-v0.1", "--keep-corpus", english), "is a SentencePiece tokenizer"),
        (("--base", base, "--keep-corpus", english, "--add", 10), "--add needs --corpus"),
        (("--base", base, "--keep-corpus", english, "--corpus", RU_DEV), "--corpus needs --add"),
        (("--base", base, "--keep-corpus", english, "--min-count", 0), "--min-count 0: must be at least 1"),
        (("--base", base, "--keep-corpus", english, "--corpus", RU_DEV, "--add", 0), "--add 0: must be between 1"),
        (("--base", tmp_path, "--keep-corpus", english), "has no tokenizer"),
    ]
    for args, message in cases:
        result = run(*args, "--out", out)
        assert result.exit_code == 1 and message in result.output, result.output
        assert "Traceback" not in result.output
    assert "tokenize extend" in run(*cases[0][0], "--out", out).output
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    result = run("--base", base, "--keep-corpus", english, "--out", full)
    assert result.exit_code == 1 and "already exists and is not empty" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


@pytest.mark.slow
def test_an_empty_keep_corpus_is_an_error(small_qwen: Path, tmp_path: Path) -> None:
    from ru_llm.core.errors import RuLLMError
    from ru_llm.tokenize.bpe.optimize import optimize_tokenizer

    with pytest.raises(RuLLMError, match="keep corpus is empty"):
        optimize_tokenizer(small_qwen, [], tmp_path / "o")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_resize_model_keeps_the_rows_of_every_kept_token(tiny_model, tmp_path: Path) -> None:
    """The tiny Qwen2 model dir as the base, optimized and extended, then resized: kept tokens keep their rows."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ru_llm.tokenize.bpe.optimize import optimize_tokenizer
    from ru_llm.tokenize.corpus import weighted_texts
    from ru_llm.tokenize.resize import resize_model

    model_dir = tiny_model("qwen2")
    out = tmp_path / "tok"
    optimize_tokenizer(model_dir, weighted_texts([str(RU_DEV)]), out, add=100, add_texts=weighted_texts([str(RU_DEV)]))
    id_map = {int(old): new for old, new in json.loads((out / "id_map.json").read_text())["old_to_new"].items()}
    resized = resize_model(model_dir, out, tmp_path / "model")
    assert resized.mode == "replace" and resized.copied >= len(id_map)
    old_rows = AutoModelForCausalLM.from_pretrained(model_dir).get_input_embeddings().weight.detach()
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    new_rows = model.get_input_embeddings().weight.detach()
    for old, new in list(id_map.items())[:: max(1, len(id_map) // 200)]:
        assert torch.equal(new_rows[new], old_rows[old])
    tok = AutoTokenizer.from_pretrained(tmp_path / "model")
    batch = tok.apply_chat_template([{"role": "user", "content": "Привет, мир"}], return_tensors="pt", return_dict=True)
    assert torch.isfinite(model(**batch).logits).all()
