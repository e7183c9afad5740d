"""SentencePiece helpers: reading a base's model, turning weighted texts into training lines, training."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from conftest import REPO

from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.corpus import weighted_texts
from ru_llm.tokenize.sentencepiece import model as spm

DATA = REPO / "tests" / "data"
RU_DEV = DATA / "text" / "ru_ud_gsd_dev.txt"
LLAMA2 = DATA / "tokenizers" / "llama2"


@pytest.fixture(scope="module")
def ru_lines() -> spm.TrainingLines:
    return spm.collect_lines(weighted_texts([str(RU_DEV)]))


def processor(model: bytes):
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_proto=model)


def test_reads_the_real_llama2_and_mistral_models() -> None:
    for name in ("llama2", "mistral-7b-v0.1"):
        proto = spm.read_base_model(DATA / "tokenizers" / name)
        assert len(proto.pieces) == 32000 and spm.model_type(proto) == spm.BPE
        assert spm.adds_dummy_prefix(proto)
        assert spm.meta_piece_count(proto) == 3 + 256


def test_missing_and_corrupt_models_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(RuLLMError, match="no such directory"):
        spm.read_base_model(tmp_path / "nope")
    with pytest.raises(RuLLMError, match="has no tokenizer.model"):
        spm.read_base_model(tmp_path)
    model = tmp_path / "tokenizer.model"
    for content in (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n", b""):
        model.write_bytes(content)
        with pytest.raises(RuLLMError, match=r"tokenizer\.model: not a SentencePiece model") as error:
            spm.read_base_model(tmp_path)
        assert "\n" not in error.value.message and "tokenizer.model again" in error.value.hint


def test_collect_lines_gives_words_as_running_text_has_them() -> None:
    texts = [(" слово", 3.0), (" Слово", 1.0), ("Слово", 0.5), ("a\tb\r\nвторая строка\n\n", 2.0)]
    lines = spm.collect_lines(texts)
    assert lines.weights == {"слово": 3.0, "Слово": 1.5, "a b": 2.0, "вторая строка": 2.0}
    assert lines.texts == 4
    kept = spm.collect_lines(texts, dummy_prefix=False).weights
    assert kept[" слово"] == 3.0 and kept["Слово"] == 0.5


def test_long_lines_are_cut_at_spaces_and_memory_is_bounded() -> None:
    line = " ".join(["слово"] * 1000)
    pieces = spm.collect_lines([(line, 1.0)]).weights
    assert all(len(p) <= spm.MAX_LINE_CHARS for p in pieces) and len(pieces) > 1
    lines = spm.collect_lines([(f"строка {i}", 1.0) for i in range(10)], max_lines=4)
    assert len(lines.weights) == 4 and lines.dropped == 6


def test_the_heaviest_lines_survive_the_cap_whatever_the_corpus_order() -> None:
    light = [(f"редкое {i}", 1.0) for i in range(20)]
    heavy = [(f"частое {i}", 50.0) for i in range(3)]
    for texts in (light + heavy, heavy + light):
        lines = spm.collect_lines(texts, max_lines=3)
        assert sorted(lines.weights) == ["частое 0", "частое 1", "частое 2"] and lines.dropped == 20


def test_tsv_counts_are_proportional_integers_of_at_least_one() -> None:
    lines = spm.TrainingLines({"a": 0.25, "b": 1.0, "c": 1e6})
    assert lines.tsv_counts() == {"a": 1, "b": 4, "c": 4_000_000}
    assert spm.TrainingLines({"a": 3.4, "b": 7.0}).tsv_counts() == {"a": 3, "b": 7}


def test_next_score_below_steps_even_where_float32_is_coarse() -> None:
    def f32(x: float) -> float:
        return struct.unpack("<f", struct.pack("<f", x))[0]

    assert spm.next_score_below(-5.0) == -6.0
    below = spm.next_score_below(-1e9)
    assert below < -1e9 and f32(below) == below
    assert spm.next_score_below(below) < below
    assert spm.next_score_below(0.0) < 0.0


def test_trains_a_standalone_bpe_that_keeps_text_exactly(ru_lines, capfd) -> None:
    model = spm.train_from_lines(ru_lines, 1200, spm.BPE, special_pieces=["<|im_end|>"])
    proto = spm.model_proto(model)
    assert capfd.readouterr().err == ""  # sentencepiece's log stays quiet
    assert len(proto.pieces) == 1200 and spm.model_type(proto) == spm.BPE
    assert [p.piece for p in proto.pieces[:4]] == ["<unk>", "<s>", "</s>", "<|im_end|>"]
    assert proto.normalizer_spec.name == "identity" and not proto.normalizer_spec.remove_extra_whitespaces
    assert proto.trainer_spec.byte_fallback and proto.trainer_spec.num_threads == spm.TRAIN_THREADS
    assert not proto.trainer_spec.input  # no temp path left in the model
    sp = processor(model)
    for text in ("Emoji 🙂👍🏽, ЁЛКИ ёлки, Ѣ ѣ", "def f(x):\n\treturn  x", "<|im_end|>Привет"):
        assert sp.decode(sp.encode(text)) == text
    assert sp.encode("<|im_end|>", out_type=str)[-1] == "<|im_end|>"


def test_like_copies_the_base_normaliser_flags_and_special_ids(ru_lines) -> None:
    base = spm.read_base_model(LLAMA2)
    proto = spm.model_proto(spm.train_from_lines(ru_lines, 1000, spm.BPE, like=base))
    assert proto.normalizer_spec == base.normalizer_spec
    for flag in spm.SHAPING_FLAGS:
        assert getattr(proto.trainer_spec, flag) == getattr(base.trainer_spec, flag), flag
    assert [p.piece for p in proto.pieces[:3]] == [p.piece for p in base.pieces[:3]]


def test_like_puts_special_pieces_at_the_base_ids(ru_lines) -> None:
    base = spm.read_base_model(LLAMA2)
    base.pieces[300].piece, base.pieces[300].type = "<start_of_turn>", spm.USER_DEFINED
    base.pieces[301].piece, base.pieces[301].type = "<end_of_turn>", spm.CONTROL
    proto = spm.model_proto(spm.train_from_lines(ru_lines, 1000, spm.BPE, like=base))
    assert proto.pieces[300].piece == "<start_of_turn>" and proto.pieces[300].type == spm.USER_DEFINED
    assert proto.pieces[301].piece == "<end_of_turn>" and proto.pieces[301].type == spm.CONTROL
    scores = [p.score for p in proto.pieces if p.type == spm.NORMAL]
    assert scores == sorted(scores, reverse=True)  # learned pieces keep their order


def test_vocabulary_the_corpus_cannot_fill_names_the_most_it_supports(ru_lines) -> None:
    with pytest.raises(spm.VocabularyTooLargeError, match=r"vocabulary size 100000: the corpus supports at most") as e:
        spm.train_from_lines(ru_lines, 100_000, spm.BPE)
    assert 1000 < e.value.supported < 100_000 and f"ask for {e.value.supported} or less" in e.value.hint
    with pytest.raises(spm.VocabularyTooSmallError, match=r"smaller than the \d+ characters") as small:
        spm.train_from_lines(ru_lines, 20, spm.UNIGRAM)
    assert small.value.needed > 20


def test_empty_corpus_is_an_error() -> None:
    with pytest.raises(RuLLMError, match="no text to learn from"):
        spm.train_sentencepiece([("   \n\t", 1.0)], 100, spm.BPE)


def test_hf_added_tokens_reads_the_config_and_legacy_files(tmp_path: Path) -> None:
    (tmp_path / "tokenizer_config.json").write_text(
        '{"added_tokens_decoder": {"1": {"content": "<s>", "special": true}, '
        '"32000": {"content": "<pad>", "special": true}}}',
        encoding="utf-8",
    )
    (tmp_path / "added_tokens.json").write_text('{"<tool>": 32001}', encoding="utf-8")
    assert spm.hf_added_tokens(tmp_path) == {1: ("<s>", True), 32000: ("<pad>", True), 32001: ("<tool>", True)}
    assert spm.hf_added_tokens(LLAMA2) == {}
