"""Byte-level BPE extension of the real Qwen2.5 and LLaMA-3 tokenizers with merges learned from Russian text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO
from kit.texts import english_texts

from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.bpe.extend import (
    bare_model,
    extend_byte_level_bpe,
    has_cyrillic,
    learn_bpe_extension,
    load_json_once,
    merge_pair,
    read_tokenizer_json,
    repeat_counts,
)
from ru_llm.tokenize.corpus import weighted_texts
from ru_llm.tokenize.produced import ROUND_TRIP_SAMPLES
from ru_llm.tokenize.stats import tokenizer_stats

DATA = REPO / "tests" / "data"
RU_DEV = DATA / "text" / "ru_ud_gsd_dev.txt"
ADD = 500
# Russian the merges were not learned from (written for these tests).
RU_HELD_OUT = (
    "Сегодня в Москве прошло заседание правительства, на котором обсуждали развитие транспорта и образования. "
    "Министр сообщил, что новые школы откроются в следующем году в нескольких регионах страны.\n"
)
MORE_SAMPLES = (
    "Съешь же ещё этих мягких французских булок",
    "   leading spaces and\ttabs\n\nand blank lines  ",
    "Ünïcödé: 中文, العربية, עברית, ελληνικά, 日本語のテキスト",
    "```python\nprint('Привет')  # 👋\n```",
    "ПРИВЕТ привет Привет пРиВеТ",
)


@pytest.fixture(scope="module", params=[pytest.param(name, marks=pytest.mark.slow) for name in ("qwen2.5", "llama3")])
def extended(request, real_tokenizer, tmp_path_factory):
    """(base tokenizer, base dir, extended tokenizer, out dir, report), extended by ADD tokens from RU_DEV."""
    from transformers import AutoTokenizer

    base = real_tokenizer(request.param)
    base_dir = Path(base.name_or_path)
    out = tmp_path_factory.mktemp(f"ext-{request.param}") / "out"
    report = extend_byte_level_bpe(base_dir, weighted_texts([str(RU_DEV)]), ADD, out, base_tokenizer=base)
    return base, base_dir, AutoTokenizer.from_pretrained(out), out, report


def test_round_trips_russian_english_code_emoji_mixed(extended) -> None:
    _, _, new, _, _ = extended
    for text in (*ROUND_TRIP_SAMPLES, *MORE_SAMPLES, RU_HELD_OUT, RU_DEV.read_text(encoding="utf-8")[:20000]):
        assert new.decode(new.encode(text, add_special_tokens=False)) == text


def test_english_and_code_tokenize_exactly_as_with_the_base(extended) -> None:
    base, _, new, _, _ = extended
    texts = english_texts()
    assert len(texts) > 200
    for text in texts:
        assert new.encode(text, add_special_tokens=False) == base.encode(text, add_special_tokens=False)


def test_every_base_token_and_special_token_keeps_its_id(extended) -> None:
    base, _, new, _, report = extended
    old_vocab, new_vocab = base.get_vocab(), new.get_vocab()
    assert all(new_vocab[token] == i for token, i in old_vocab.items())
    assert len(new_vocab) == len(old_vocab) + ADD == len(new)
    assert report.first_new_id == max(old_vocab.values()) + 1
    assert sorted(new_vocab.values()) == list(range(len(new_vocab)))
    assert new.all_special_tokens == base.all_special_tokens
    assert new.all_special_ids == base.all_special_ids
    assert (new.eos_token_id, new.pad_token_id, new.bos_token_id) == (base.eos_token_id, base.pad_token_id,
                                                                      base.bos_token_id)  # fmt: skip
    assert new.padding_side == base.padding_side


def test_chat_template_and_special_tokens_render_as_before(extended) -> None:
    base, _, new, _, _ = extended
    messages = [{"role": "user", "content": "Привет! Как дела?"}, {"role": "assistant", "content": "Хорошо."}]
    rendered = base.apply_chat_template(messages, tokenize=False)
    assert new.chat_template == base.chat_template
    assert new.apply_chat_template(messages, tokenize=False) == rendered
    ids = new.apply_chat_template(messages, tokenize=True)
    ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
    assert new.decode(ids) == rendered
    specials = set(base.all_special_ids)
    assert [i for i in ids if i in specials] == [
        i for i in base.encode(rendered, add_special_tokens=False) if i in specials
    ]


def test_new_tokens_come_from_bpe_merges_not_added_tokens(extended) -> None:
    _, base_dir, new, out, report = extended
    base_json = read_tokenizer_json(base_dir)
    new_json = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    assert new_json["added_tokens"] == base_json["added_tokens"]
    old_merges = base_json["model"]["merges"]
    assert new_json["model"]["merges"][: len(old_merges)] == old_merges
    added = new_json["model"]["merges"][len(old_merges) :]
    assert len(added) == report.new_merges >= ADD
    assert all(has_cyrillic("".join(merge_pair(m))) for m in added)
    ids = new.encode(RU_HELD_OUT, add_special_tokens=False)
    assert any(i >= report.first_new_id for i in ids)  # new tokens inside running text, at word boundaries


def test_russian_chars_per_token_improves(extended) -> None:
    base, _, new, _, _ = extended
    for text, gain in ((RU_DEV.read_text(encoding="utf-8"), 1.05), (RU_HELD_OUT, 1.0)):
        before = tokenizer_stats(base, text)["chars_per_token"]
        after = tokenizer_stats(new, text)["chars_per_token"]
        assert after > before * gain


def test_repeat_counts_are_proportional_and_unbiased() -> None:
    assert repeat_counts({"a": 3.0, "b": 1.0}, 1000) == {"a": 3, "b": 1}
    counts = repeat_counts({"big": 1e6, **{f"w{i}": 0.3 for i in range(10000)}}, 100_000)
    small = sum(v for k, v in counts.items() if k != "big")
    assert counts["big"] == pytest.approx(1e6 / ((1e6 + 3000) / 100_000), rel=1e-3)
    assert small == pytest.approx(3000 / ((1e6 + 3000) / 100_000), rel=0.1)


@pytest.mark.slow
def test_learning_is_deterministic(small_qwen: Path) -> None:
    tokenizer_json = read_tokenizer_json(small_qwen)
    runs = [learn_bpe_extension(tokenizer_json, weighted_texts([str(RU_DEV)]), 50) for _ in range(2)]
    assert runs[0].merges == runs[1].merges and len(runs[0].new_tokens) == 50


@pytest.mark.slow
def test_corpus_without_cyrillic_is_an_error(small_qwen: Path, tmp_path: Path) -> None:
    english = tmp_path / "en.txt"
    english.write_text("Only English words here.\n" * 10, encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(RuLLMError, match="no Cyrillic words"):
        extend_byte_level_bpe(small_qwen, weighted_texts([str(english)]), 10, out)
    assert list(tmp_path.iterdir()) == [english]  # no output and no temp dir left


@pytest.mark.slow
def test_add_more_than_the_corpus_supports_says_how_many(small_qwen: Path, tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("Мама мыла раму. Мама мыла раму.\n", encoding="utf-8")
    with pytest.raises(RuLLMError, match=r"^1000 new tokens: the corpus supports only (\d+) ") as error:
        extend_byte_level_bpe(small_qwen, weighted_texts([str(tiny)]), 1000, tmp_path / "out")
    assert 0 < int(error.value.message.split("only ")[1].split()[0]) < 20
    assert not (tmp_path / "out").exists() and len(list(tmp_path.iterdir())) == 1


def test_the_bare_model_splits_each_pre_token_as_the_whole_tokenizer_does(small_qwen: Path) -> None:
    from tokenizers import Tokenizer

    whole = Tokenizer.from_file(str(small_qwen / "tokenizer.json"))
    bare = bare_model(read_tokenizer_json(small_qwen))
    text = RU_DEV.read_text(encoding="utf-8")[:5000] + "".join(MORE_SAMPLES)
    pieces = [piece for piece, _ in whole.pre_tokenizer.pre_tokenize_str(whole.normalizer.normalize_str(text))]
    ids = [i for encoding in bare.encode_batch(pieces, add_special_tokens=False) for i in encoding.ids]
    assert ids == whole.encode(text, add_special_tokens=False).ids
    assert bare.normalizer is None and bare.pre_tokenizer is None and bare.get_added_tokens_decoder() == {}


def test_a_parsed_tokenizer_json_is_reused_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_text('{"model": {"vocab": {"a": 0}}}', encoding="utf-8")
    first = load_json_once(path)
    assert load_json_once(path) is first and first == {"model": {"vocab": {"a": 0}}}
    path.write_text('{"model": {"vocab": {"b": 0, "c": 1}}}', encoding="utf-8")  # another size and mtime
    assert load_json_once(path) == {"model": {"vocab": {"b": 0, "c": 1}}}
    moved = tmp_path / "moved.json"
    path.rename(moved)
    path.write_text('{"model": {"vocab": {"d": 0, "e": 1}}}', encoding="utf-8")  # same size, another file
    assert load_json_once(path) == {"model": {"vocab": {"d": 0, "e": 1}}}
    assert load_json_once(moved) == {"model": {"vocab": {"b": 0, "c": 1}}}


@pytest.mark.parametrize("name", ["llama2", "mistral-7b-v0.1"])
def test_sentencepiece_base_is_not_a_byte_level_bpe(name: str) -> None:
    # `extend` sends these to ru_llm.tokenize.sentencepiece.extend (tests/tokenize/test_spm_extend.py) first.
    with pytest.raises(RuLLMError, match=r"is a SentencePiece tokenizer \(no tokenizer.json\), not a byte-level BPE"):
        read_tokenizer_json(DATA / "tokenizers" / name)


def test_sentencepiece_style_tokenizer_json_without_its_model_is_refused(tmp_path: Path, real_tokenizer) -> None:
    real_tokenizer("llama2").backend_tokenizer.save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(RuLLMError, match="SentencePiece-style tokenizer.json, not a byte-level BPE") as error:
        read_tokenizer_json(tmp_path)
    assert "tokenizer.model" in error.value.hint


def test_base_without_tokenizer_and_existing_out_are_errors(small_qwen: Path, tmp_path: Path) -> None:
    with pytest.raises(RuLLMError, match="has no tokenizer.json"):
        read_tokenizer_json(tmp_path)
    with pytest.raises(RuLLMError, match="no such directory"):
        read_tokenizer_json(tmp_path / "nope")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(RuLLMError, match="already exists and is not empty"):
        extend_byte_level_bpe(small_qwen, weighted_texts([str(RU_DEV)]), 10, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.slow
def test_overwrite_replaces_the_output(small_qwen: Path, tmp_path: Path) -> None:
    base = small_qwen  # the output-directory rules do not depend on the vocabulary's size
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(RuLLMError, match="not an output directory of ru-llm"):  # a user's folder: never deleted
        extend_byte_level_bpe(base, weighted_texts([str(RU_DEV)]), 10, mine, overwrite=True)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    out = tmp_path / "out"
    extend_byte_level_bpe(base, weighted_texts([str(RU_DEV)]), 10, out)
    (out / "stale.txt").write_text("x", encoding="utf-8")
    report = extend_byte_level_bpe(base, weighted_texts([str(RU_DEV)]), 10, out, overwrite=True)
    assert report.new_tokens == 10
    assert sorted(p.name for p in out.iterdir()) == sorted([".ru-llm-output", *(p.name for p in base.iterdir())])
