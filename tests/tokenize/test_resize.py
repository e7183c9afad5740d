"""`ru-llm tokenize resize-model` on tiny models: shapes, copied and initialised rows, ties, ids, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import typer
from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

import ru_llm.tokenize.builtin_initializers as builtin_initializers
from ru_llm.cli.group import RuLLMGroup
from ru_llm.tokenize.commands.resize_cmd import resize_model_command
from ru_llm.tokenize.resize import resize_model

NEW_TOKENS = ["приветище", "мирозданьице", "здравствуйтесь"]


@pytest.fixture(autouse=True)
def builtins(plugin_manager):
    """The built-in initializers, whether or not the package lists them yet."""
    plugin_manager.sync_packages()
    if not plugin_manager.has_plugin(builtin_initializers.__name__):
        plugin_manager.register(builtin_initializers, name=builtin_initializers.__name__)


def extended_tokenizer(model_dir: Path, out: Path, tokens: list[str] = NEW_TOKENS) -> Path:
    tok = AutoTokenizer.from_pretrained(model_dir)
    assert tok.add_tokens(tokens) == len(tokens)
    tok.save_pretrained(out)
    return out


def load(path: Path):
    return AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def sub_token_mean(matrix: torch.Tensor, old_tok, new_tok, new_id: int) -> torch.Tensor:
    ids = old_tok.encode(new_tok.decode([new_id]), add_special_tokens=False)
    assert len(ids) > 1  # a real split, or the test proves nothing
    return matrix[ids].mean(dim=0)


@pytest.mark.parametrize(
    ("name", "tied"),
    [
        pytest.param("llama", False, marks=pytest.mark.slow),
        pytest.param("qwen2", True, marks=pytest.mark.slow),  # the real 151k vocabulary
        ("gpt2", True),
    ],
)
def test_extending_adds_rows_as_the_mean_of_the_old_sub_tokens(tiny_model, tmp_path, name, tied) -> None:
    model_dir = tiny_model(name)
    old_model, old_tok = load(model_dir)
    new_dir = extended_tokenizer(model_dir, tmp_path / "tok")
    report = resize_model(model_dir, new_dir, tmp_path / "out")

    model, tok = load(tmp_path / "out")
    old_in = old_model.get_input_embeddings().weight.detach()
    old_out = old_model.get_output_embeddings().weight.detach()
    new_in = model.get_input_embeddings().weight.detach()
    new_out = model.get_output_embeddings().weight.detach()
    old_size = len(old_tok)
    assert len(tok) == old_size + len(NEW_TOKENS)
    assert new_in.shape[0] % 64 == 0 and new_in.shape[0] >= len(tok) > new_in.shape[0] - 64
    assert model.config.vocab_size == new_in.shape[0] == new_out.shape[0]
    assert report.mode == "extend" and report.initialized == len(NEW_TOKENS) and report.tied is tied

    assert torch.equal(new_in[:old_size], old_in[:old_size])
    assert torch.equal(new_out[:old_size], old_out[:old_size])
    for token in NEW_TOKENS:
        i = tok.convert_tokens_to_ids(token)
        assert torch.allclose(new_in[i], sub_token_mean(old_in, old_tok, tok, i), atol=1e-6)
        assert torch.allclose(new_out[i], sub_token_mean(old_out, old_tok, tok, i), atol=1e-6)
    assert torch.allclose(new_in[len(tok) :], old_in[:old_size].mean(dim=0).expand(new_in.shape[0] - len(tok), -1))

    assert model.config.tie_word_embeddings is tied
    assert (new_out.data_ptr() == new_in.data_ptr()) is tied
    if not tied:  # two matrices, two different means
        i = tok.convert_tokens_to_ids("мирозданьице")
        assert not torch.allclose(new_in[i], new_out[i])
    for key in ("bos_token_id", "eos_token_id"):
        assert getattr(model.config, key) == getattr(old_model.config, key)
        assert getattr(model.generation_config, key) == getattr(old_model.generation_config, key)
    assert report.ids == {}

    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert "model.safetensors" in files and "tokenizer.json" in files
    assert not any(f.endswith((".bin", ".pt", ".pth")) for f in files)
    assert not list(tmp_path.glob(".out.*"))  # the temp dir was renamed, not left behind

    batch = tok(["приветище, мирозданьице"], return_tensors="pt")
    assert batch["input_ids"].max() >= old_size  # the new tokens are used
    logits = model(**batch).logits
    assert logits.shape[-1] == new_in.shape[0] and torch.isfinite(logits).all()


def swapped_tokenizer(model_dir: Path, out: Path, a: int, b: int) -> Path:
    """The model's tokenizer with the ids of two tokens swapped: a "replaced" vocabulary."""
    data = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    by_id = {i: t for t, i in vocab.items()}
    vocab[by_id[a]], vocab[by_id[b]] = b, a
    for added in data["added_tokens"]:
        added["id"] = {a: b, b: a}.get(added["id"], added["id"])
    out.mkdir()
    (out / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (out / "tokenizer_config.json").write_text((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    return out


def test_a_replaced_vocabulary_copies_rows_by_token_string_and_moves_the_ids(tiny_model, tmp_path) -> None:
    model_dir = tiny_model("gpt2")
    old_model, old_tok = load(model_dir)
    last = len(old_tok) - 1
    assert old_tok.convert_ids_to_tokens(0) == "<|endoftext|>" and old_model.config.eos_token_id == 0
    report = resize_model(model_dir, swapped_tokenizer(model_dir, tmp_path / "tok", 0, last), tmp_path / "out")

    model, tok = load(tmp_path / "out")
    old_in = old_model.get_input_embeddings().weight.detach()
    new_in = model.get_input_embeddings().weight.detach()
    assert tok.eos_token_id == last and report.mode == "replace" and report.initialized == 0
    assert torch.equal(new_in[last], old_in[0]) and torch.equal(new_in[0], old_in[last])
    assert torch.equal(new_in[1:last], old_in[1:last])
    assert model.config.eos_token_id == model.config.bos_token_id == last
    assert model.generation_config.eos_token_id == last
    assert report.ids["config.eos_token_id"] == [0, last]


def test_mode_extend_refuses_a_replaced_vocabulary(tiny_model, tmp_path) -> None:
    model_dir = tiny_model("gpt2")
    with pytest.raises(Exception, match=r"mode 'extend', but the new tokenizer drops or moves old tokens"):
        resize_model(model_dir, swapped_tokenizer(model_dir, tmp_path / "tok", 0, 5), tmp_path / "out", mode="extend")
    assert not (tmp_path / "out").exists()


def test_another_familys_tokenizer_falls_back_to_its_special_ids(tiny_model, tmp_path) -> None:
    # LLaMA-2 weights with the tiny GPT-2 vocabulary: <s> and </s> are gone, <|endoftext|> is the new EOS.
    report = resize_model(tiny_model("llama"), tiny_model("gpt2"), tmp_path / "out", pad_to_multiple_of=1)
    model, tok = load(tmp_path / "out")
    assert model.get_input_embeddings().weight.shape[0] == len(tok) == 1000
    assert model.config.eos_token_id == tok.eos_token_id == 0
    assert any("config.eos_token_id=2 ('</s>')" in w for w in report.warnings)
    assert report.mode == "replace" and report.initialized > 500
    model(**tok(["hello world"], return_tensors="pt"))


@pytest.mark.slow
@pytest.mark.parametrize("init", ["first-weighted", "normal"])
def test_other_initializers_keep_old_rows_and_fill_new_ones(tiny_model, tmp_path, init) -> None:
    model_dir = tiny_model("llama-small")  # LLaMA's layout on 1,000 pieces: the initializers do not read the vocabulary
    old_model, old_tok = load(model_dir)
    report = resize_model(
        model_dir, extended_tokenizer(model_dir, tmp_path / "tok"), tmp_path / "out", initializer=init
    )
    model, tok = load(tmp_path / "out")
    old_in = old_model.get_input_embeddings().weight.detach()
    new_in = model.get_input_embeddings().weight.detach()
    assert report.initializer == init
    assert len(old_tok) == old_in.shape[0] and torch.equal(new_in[: len(old_tok)], old_in)
    i = tok.convert_tokens_to_ids("приветище")
    assert torch.isfinite(new_in[i]).all() and not torch.allclose(new_in[i], old_in.mean(dim=0))


@pytest.mark.slow
def test_normal_is_reproducible_with_a_seed(tiny_model, tmp_path) -> None:
    model_dir = tiny_model("llama-small")
    tok_dir = extended_tokenizer(model_dir, tmp_path / "tok")
    rows = []
    for run, seed in enumerate((3, 3, 4)):
        resize_model(model_dir, tok_dir, tmp_path / f"out{run}", initializer="normal", seed=seed)
        rows.append(load(tmp_path / f"out{run}")[0].get_input_embeddings().weight.detach()[1000:1003])  # the new
    assert torch.equal(rows[0], rows[1]) and not torch.equal(rows[0], rows[2])


# -- bad input: one clear error, nothing written ------------------------------------------------
def test_a_model_dir_without_config_or_weights(tiny_model, tmp_path) -> None:
    model_dir = tiny_model("gpt2")
    no_config = tmp_path / "no-config"
    no_config.mkdir()
    (no_config / "tokenizer.json").write_text((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    with pytest.raises(Exception, match=r"no-config: no config.json found"):
        resize_model(no_config, model_dir, tmp_path / "out")
    (no_config / "config.json").write_text((model_dir / "config.json").read_text(encoding="utf-8"))
    (no_config / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(Exception, match=r"no safetensors weights \(found pytorch_model.bin"):
        resize_model(no_config, model_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_tokenizer_dir_without_a_tokenizer(tiny_model, tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(Exception, match=r"empty: no tokenizer found"):
        resize_model(tiny_model("gpt2"), tmp_path / "empty", tmp_path / "out")
    with pytest.raises(Exception, match=r"missing: not a directory"):
        resize_model(tiny_model("gpt2"), tmp_path / "missing", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_model_smaller_than_its_own_tokenizer(tiny_model, tmp_path) -> None:
    # The tiny GPT-2 weights (1,000 rows) beside the LLaMA-2 tokenizer (32,000 ids).
    model_dir = tmp_path / "mismatch"
    model_dir.mkdir()
    for file in tiny_model("gpt2").iterdir():
        if not file.name.startswith("tokenizer"):
            (model_dir / file.name).write_bytes(file.read_bytes())
    for file in tiny_model("llama").glob("tokenizer*"):
        (model_dir / file.name).write_bytes(file.read_bytes())
    with pytest.raises(Exception, match=r"the model has 1000 embedding rows but its own tokenizer uses 32000 ids"):
        resize_model(model_dir, tiny_model("llama"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_out_dir_that_is_not_empty(tiny_model, tmp_path) -> None:
    model_dir = tiny_model("gpt2")
    tok_dir = extended_tokenizer(model_dir, tmp_path / "tok")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(Exception, match=r"out: already exists and is not empty"):
        resize_model(model_dir, tok_dir, tmp_path / "out")
    with pytest.raises(Exception, match=r"out: not an output directory of ru-llm"):  # a user's folder is kept
        resize_model(model_dir, tok_dir, tmp_path / "out", overwrite=True)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"
    for source in (tok_dir, model_dir):  # an input of the run, even one that ru-llm made
        with pytest.raises(Exception, match=r"the output directory holds an input"):
            resize_model(model_dir, tok_dir, source, overwrite=True)
    made = tmp_path / "made"
    resize_model(model_dir, tok_dir, made)
    (made / "stale.txt").write_text("old run")
    resize_model(model_dir, tok_dir, made, overwrite=True)
    assert not (made / "stale.txt").exists() and (made / "model.safetensors").is_file()


def test_a_failing_initializer_leaves_nothing_behind(tiny_model, tmp_path, monkeypatch) -> None:
    from ru_llm.tokenize import resize

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(resize.shutil, "copy2", fail)
    model_dir = tiny_model("gpt2")
    with pytest.raises(OSError, match="disk full"):
        resize_model(model_dir, extended_tokenizer(model_dir, tmp_path / "tok"), tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tok"]


def test_bad_options(tiny_model, tmp_path) -> None:
    model_dir = tiny_model("gpt2")
    with pytest.raises(Exception, match="^pad_to_multiple_of must be at least 1"):  # the library names parameters
        resize_model(model_dir, model_dir, tmp_path / "out", pad_to_multiple_of=0)
    with pytest.raises(Exception, match="^mode must be one of auto, extend, replace"):
        resize_model(model_dir, model_dir, tmp_path / "out", mode="grow")
    for flag, value in (("--pad-to-multiple-of", "0"), ("--mode", "grow")):  # the command names its flags
        result = invoke("--model", model_dir, "--tokenizer", model_dir, "--out", tmp_path / "out", flag, value)
        assert result.exit_code == 1 and f"{flag} " in result.output and "Traceback" not in result.output
    with pytest.raises(Exception, match="unknown embedding initializer 'meen'"):
        resize_model(model_dir, model_dir, tmp_path / "out", initializer="meen")


# -- the command --------------------------------------------------------------------------------
def invoke(*args: object):
    app = typer.Typer(cls=RuLLMGroup, pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """Test app."""

    app.command("resize-model")(resize_model_command)
    return CliRunner().invoke(app, ["resize-model", *map(str, args)], env={"COLUMNS": "200"})


@pytest.mark.slow
def test_the_command_prints_a_summary_and_json(tiny_model, tmp_path) -> None:
    model_dir = tiny_model("llama-small")
    tok_dir = extended_tokenizer(model_dir, tmp_path / "tok")
    result = invoke("--model", model_dir, "--tokenizer", tok_dir, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "3 initialised (mean)" in result.output and "'приветище' <- " in result.output
    result = invoke("--model", model_dir, "--tokenizer", tok_dir, "--out", tmp_path / "out", "--overwrite", "--json",
                    "--init", "first-weighted", "--pad-to-multiple-of", "128")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["new_rows"] == 1024 and data["initializer"] == "first-weighted" and data["mode"] == "extend"


def test_the_command_reports_errors_in_one_line(tiny_model, tmp_path) -> None:
    result = invoke("--model", tmp_path, "--tokenizer", tiny_model("gpt2"), "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "no config.json found" in result.output and "Traceback" not in result.output


def test_a_byte_level_token_that_splits_a_character_maps_to_its_bytes(tiny_model, tmp_path) -> None:
    from ru_llm.tokenize.resize import plan_rows

    model_dir = tiny_model("gpt2")
    data = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    partial = "Ð¿Ð"  # "п" and the first byte of the next Cyrillic letter: decodes to "п\ufffd"
    assert partial not in data["model"]["vocab"]
    data["model"]["vocab"][partial] = len(data["model"]["vocab"])
    out = tmp_path / "tok"
    out.mkdir()
    (out / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (out / "tokenizer_config.json").write_text((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    old_tok, new_tok = AutoTokenizer.from_pretrained(model_dir), AutoTokenizer.from_pretrained(out)

    plan = plan_rows(old_tok, new_tok)
    assert plan.new_ids == [1000] and plan.texts == ["п\ufffd"] and plan.extends
    assert "".join(old_tok.convert_ids_to_tokens(plan.sub_tokens[0])) == partial


@pytest.mark.slow
def test_the_prefix_space_sentencepiece_adds_is_not_a_sub_token(tiny_model, tmp_path) -> None:
    from ru_llm.tokenize.resize import plan_rows

    old_tok = AutoTokenizer.from_pretrained(tiny_model("llama"))
    new_tok = AutoTokenizer.from_pretrained(extended_tokenizer(tiny_model("llama"), tmp_path / "tok", ["\x04ab"]))
    assert old_tok.convert_ids_to_tokens(old_tok.encode("\x04ab", add_special_tokens=False))[0] == "▁"
    plan = plan_rows(old_tok, new_tok)
    assert old_tok.convert_ids_to_tokens(plan.sub_tokens[0])[0] == "<0x04>"
