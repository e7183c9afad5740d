"""SentencePiece BPE extension of the real LLaMA-2 and Mistral-7B tokenizers with pieces learned from Russian text."""

from __future__ import annotations

import json
import shutil
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import REPO
from kit.texts import english_texts

from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.corpus import weighted_texts
from ru_llm.tokenize.produced import ROUND_TRIP_SAMPLES, has_cyrillic_text, verify_tokenizer
from ru_llm.tokenize.sentencepiece import model as spm
from ru_llm.tokenize.sentencepiece.extend import (
    PieceRules,
    extend_sentencepiece_bpe,
    extended_model,
    read_sentencepiece_bpe,
    uses_sentencepiece,
)
from ru_llm.tokenize.stats import tokenizer_stats

DATA = REPO / "tests" / "data"
RU_DEV = DATA / "text" / "ru_ud_gsd_dev.txt"
LLAMA2 = DATA / "tokenizers" / "llama2"
ADD = 400
# Russian the pieces were not learned from (written for these tests).
RU_HELD_OUT = (
    "Сегодня в Москве прошло заседание правительства, на котором обсуждали развитие транспорта и образования. "
    "Министр сообщил, что новые школы откроются в следующем году в нескольких регионах страны.\n"
)
MORE_SAMPLES = (
    "   leading spaces and\ttabs\n\nand blank lines  ",
    "Ünïcödé: 中文, العربية, עברית, ελληνικά, 日本語のテキスト",
    "```python\nprint('Привет')  # 👋\n```",
    "ПРИВЕТ привет Привет пРиВеТ",
)


@pytest.fixture(scope="module", params=["llama2", pytest.param("mistral-7b-v0.1", marks=pytest.mark.slow)])
def extended(request, real_tokenizer, tmp_path_factory):
    """(base tokenizer, base dir, extended tokenizer, out dir, report), extended by ADD pieces from RU_DEV."""
    from transformers import AutoTokenizer

    base_dir = DATA / "tokenizers" / request.param
    out = tmp_path_factory.mktemp(f"spm-ext-{request.param}") / "out"
    base = real_tokenizer(request.param)  # read-only
    report = extend_sentencepiece_bpe(base_dir, weighted_texts([str(RU_DEV)]), ADD, out, base_tokenizer=base)
    return base, base_dir, AutoTokenizer.from_pretrained(out), out, report


def test_round_trips_russian_english_code_emoji_mixed(extended) -> None:
    base, _, new, _, _ = extended
    for text in (*ROUND_TRIP_SAMPLES, *MORE_SAMPLES, RU_HELD_OUT, RU_DEV.read_text(encoding="utf-8")[:20000]):
        if base.decode(base.encode(text, add_special_tokens=False)) != text:
            assert text.startswith(" ")  # transformers' LLaMA decoder drops a leading space, for the base too
            continue
        assert new.decode(new.encode(text, add_special_tokens=False)) == text


def test_english_and_code_tokenize_exactly_as_with_the_base(extended) -> None:
    base, _, new, _, _ = extended
    texts = english_texts()
    assert len(texts) > 200
    for text in texts:
        assert new.encode(text) == base.encode(text)


def test_every_base_piece_keeps_its_id_and_new_ids_follow(extended) -> None:
    base, _, new, _, report = extended
    old_vocab, new_vocab = base.get_vocab(), new.get_vocab()
    assert all(new_vocab[token] == i for token, i in old_vocab.items())
    assert len(new_vocab) == len(old_vocab) + ADD == len(new)
    assert report.first_new_id == report.base_vocab == 32000 and report.new_tokens == report.new_merges == ADD
    assert sorted(new_vocab.values()) == list(range(len(new_vocab)))
    assert (new.bos_token_id, new.eos_token_id, new.unk_token_id) == (base.bos_token_id, base.eos_token_id,
                                                                      base.unk_token_id)  # fmt: skip
    assert new.padding_side == base.padding_side


def test_new_pieces_are_cyrillic_valid_and_scored_after_the_base(extended) -> None:
    _, base_dir, _, out, _ = extended
    base = spm.read_base_model(base_dir)
    proto = spm.read_base_model(out)
    assert list(proto.pieces[:32000]) == list(base.pieces)  # piece, score and type
    assert proto.normalizer_spec == base.normalizer_spec
    new = proto.pieces[32000:]
    scores = [p.score for p in new]
    assert scores[0] < spm.lowest_score(base) and scores == sorted(set(scores), reverse=True)
    known = {p.piece for p in base.pieces}
    assert len({p.piece for p in new}) == len(new)
    for piece in new:
        text = piece.piece
        assert piece.type == spm.NORMAL and has_cyrillic_text(text) and text not in known
        # One word, one script (LLaMA-2's and Mistral's flags), at most 16 characters.
        assert "▁" not in text[1:] and len(text) <= 16 and not any(c.isdigit() or c in ",.-«»()" for c in text)


def _reference_bpe(text: str, scores: dict[str, float]) -> tuple[list[str], list[str]]:
    """SentencePiece BPE written out: (the segmentation, every piece formed on the way)."""
    symbols, formed = list(text), []
    while True:
        pairs = [(scores[a + b], -i) for i, (a, b) in enumerate(pairwise(symbols)) if a + b in scores]
        if not pairs:
            return symbols, formed
        i = -max(pairs)[1]
        symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
        formed.append(symbols[i])


def test_every_new_piece_is_made_when_the_training_text_is_segmented(extended) -> None:
    """The review's bug: pieces the base's higher joins never leave room for (▁никто stayed ▁ник|то)."""
    import sentencepiece

    _, _, new, out, _ = extended
    proto = spm.read_base_model(out)
    pieces = {p.piece for p in proto.pieces[32000:]}
    scores = {p.piece: p.score for p in proto.pieces if p.type == spm.NORMAL}
    lines = list(spm.collect_lines(weighted_texts([str(RU_DEV)])).weights)
    segmented = {token for line in lines for token in new.tokenize(line)}
    # The reference segments every word of the text as sentencepiece does (no dummy prefix: "▁" is written).
    proto.normalizer_spec.add_dummy_prefix = False
    bare = sentencepiece.SentencePieceProcessor(model_proto=proto.SerializeToString())
    words = {"▁" + word for line in lines for word in line.split() if all(c in scores for c in word)}
    assert len(words) > 2000
    for word in words:
        assert _reference_bpe(word, scores)[0] == bare.encode(word, out_type=str)
    made = pieces & segmented
    assert len(made) > 0.9 * len(pieces)
    for piece in pieces & segmented:  # and the pieces formed on the way to those
        made.update(pieces.intersection(_reference_bpe(piece, scores)[1]))
    assert made == pieces


def test_fast_tokenizer_agrees_with_tokenizer_model_on_russian(extended) -> None:
    import sentencepiece

    _, _, new, out, _ = extended
    slow = sentencepiece.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    lines = [line for line in RU_DEV.read_text(encoding="utf-8").splitlines()[:200] if line.strip()]
    assert [slow.encode(line) for line in lines] == [new.encode(line, add_special_tokens=False) for line in lines]
    ids = new.encode(RU_HELD_OUT, add_special_tokens=False)
    assert any(i >= 32000 for i in ids)  # new pieces inside running text the model was not learned from


def test_russian_chars_per_token_improves(extended) -> None:
    base, _, new, _, _ = extended
    for text, gain in ((RU_DEV.read_text(encoding="utf-8"), 1.04), (RU_HELD_OUT, 1.0)):
        before = tokenizer_stats(base, text)["chars_per_token"]
        after = tokenizer_stats(new, text)["chars_per_token"]
        assert after > before * gain


def test_piece_rules_follow_the_base_flags() -> None:
    rules = PieceRules(spm.read_base_model(LLAMA2).trainer_spec)
    assert all(map(rules.valid, ["▁никто", "никто", "ёж", "▁▁▁", "у\u0301дар", "▁Ѣ", "2", "а" * 16]))
    assert not any(map(rules.valid, ["т▁м", "▁▁при", "ты▁", "а,", "да2", "22", "Москва-2", "iPhone-ы", "ыa", "а" * 17]))


@pytest.mark.slow
def test_tokens_added_after_the_model_keep_their_ids(tmp_path: Path) -> None:
    base = tmp_path / "base"
    shutil.copytree(LLAMA2, base)
    config = json.loads((base / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["pad_token"] = "<pad>"
    config["added_tokens_decoder"] = {"32000": {"content": "<pad>", "special": True, "normalized": False}}
    (base / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    proto = extended_model(spm.read_base_model(base), ["аб"], spm.hf_added_tokens(base))
    assert [(p.piece, p.type) for p in proto.pieces[32000:]] == [("<pad>", spm.CONTROL), ("аб", spm.NORMAL)]

    report = extend_sentencepiece_bpe(base, weighted_texts([str(RU_DEV)]), 20, tmp_path / "out")
    assert report.first_new_id == 32001 and report.new_tokens == 20
    new = verify_tokenizer(tmp_path / "out", base, keeps_base_ids=True)
    assert new.pad_token_id == 32000 and len(new) == 32021


@pytest.mark.slow
def test_add_more_than_the_corpus_supports_says_how_many(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("Мама мыла раму. Мама мыла раму.\n", encoding="utf-8")
    with pytest.raises(RuLLMError, match=r"^1000 new tokens: the corpus supports only (\d+) ") as error:
        extend_sentencepiece_bpe(LLAMA2, weighted_texts([str(tiny)]), 1000, tmp_path / "out")
    supported = int(error.value.message.split("only ")[1].split()[0])
    assert 0 < supported < 20 and f"ask for {supported} new tokens or fewer" in error.value.hint
    assert "--" not in error.value.message + error.value.hint  # a library error names no command-line flag
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.txt"]  # no output and no temp dir left

    report = extend_sentencepiece_bpe(LLAMA2, weighted_texts([str(tiny)]), supported, tmp_path / "out")
    assert report.new_tokens == supported
    new = verify_tokenizer(tmp_path / "out", LLAMA2, keeps_base_ids=True)
    assert new.tokenize("Мама мыла раму.") == ["▁Мама", "▁мыла", "▁раму", "."]  # the base: ▁Ма|ма ▁мы|ла ▁ра|му


def test_corpus_without_cyrillic_or_not_utf8_is_an_error(tmp_path: Path) -> None:
    english = tmp_path / "en.txt"
    english.write_text("Only English words here.\n" * 10, encoding="utf-8")
    with pytest.raises(RuLLMError, match="no Cyrillic words"):
        extend_sentencepiece_bpe(LLAMA2, weighted_texts([str(english)]), 10, tmp_path / "out")
    cp1251 = tmp_path / "cp1251.txt"
    cp1251.write_bytes("Привет, мир\n".encode("cp1251"))
    with pytest.raises(RuLLMError, match="not UTF-8"):
        extend_sentencepiece_bpe(LLAMA2, weighted_texts([str(cp1251)]), 10, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp1251.txt", "en.txt"]


def test_unigram_base_points_to_replace(unigram_model: bytes, tmp_path: Path) -> None:
    (tmp_path / "tokenizer.model").write_bytes(unigram_model)
    assert uses_sentencepiece(tmp_path)
    with pytest.raises(RuLLMError, match="is a SentencePiece unigram tokenizer; extend supports") as error:
        extend_sentencepiece_bpe(tmp_path, weighted_texts([str(RU_DEV)]), 10, tmp_path / "out")
    assert "ru-llm tokenize replace" in error.value.hint
    with pytest.raises(RuLLMError, match="unigram"):
        read_sentencepiece_bpe(tmp_path)
    assert not (tmp_path / "out").exists()


def test_dispatch_picks_sentencepiece_only_without_a_byte_level_tokenizer_json(tmp_path: Path) -> None:
    assert uses_sentencepiece(LLAMA2)
    assert not uses_sentencepiece(DATA / "tokenizers" / "qwen2.5")
    assert not uses_sentencepiece(tmp_path) and not uses_sentencepiece(tmp_path / "nope")
    shutil.copy(DATA / "tokenizers" / "qwen2.5" / "tokenizer.json", tmp_path / "tokenizer.json")
    shutil.copy(LLAMA2 / "tokenizer.model", tmp_path / "tokenizer.model")
    assert not uses_sentencepiece(tmp_path)  # a usable byte-level tokenizer.json wins


def test_existing_out_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(RuLLMError, match="already exists and is not empty"):
        extend_sentencepiece_bpe(LLAMA2, weighted_texts([str(RU_DEV)]), 10, out)
    with pytest.raises(RuLLMError, match="the output directory holds an input"):
        extend_sentencepiece_bpe(LLAMA2, weighted_texts([str(RU_DEV)]), 10, LLAMA2)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
