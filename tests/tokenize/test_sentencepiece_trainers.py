"""SentencePiece Unigram and BPE trainers: standalone vocabularies, and replacements of a base's vocabulary."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO

from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.corpus import weighted_texts
from ru_llm.tokenize.produced import verify_tokenizer
from ru_llm.tokenize.sentencepiece import model as spm
from ru_llm.tokenize.sentencepiece.trainers import SentencePieceBpeTrainer, SentencePieceUnigramTrainer
from ru_llm.tokenize.stats import tokenizer_stats

DATA = REPO / "tests" / "data"
RU_DEV = DATA / "text" / "ru_ud_gsd_dev.txt"
LLAMA2 = DATA / "tokenizers" / "llama2"
TRAINERS = [SentencePieceBpeTrainer(), SentencePieceUnigramTrainer()]


def train(trainer, out: Path, vocab_size: int = 1000, **kwargs):
    out.mkdir(parents=True, exist_ok=True)
    return trainer.train(weighted_texts([str(RU_DEV)]), vocab_size, out, **kwargs)


@pytest.fixture(scope="module")
def unigram_base(tmp_path_factory) -> Path:
    """A standalone Unigram tokenizer directory, with a chat template and right padding, to replace."""
    base = tmp_path_factory.mktemp("unigram-base")
    train(SentencePieceUnigramTrainer(), base, 800, special_tokens=["<|im_end|>"])
    config = json.loads((base / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.update(chat_template="{% for m in messages %}{{ m['content'] }}<|im_end|>{% endfor %}", padding_side="right")
    (base / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return base


def test_names_and_aliases() -> None:
    bpe, unigram = TRAINERS
    assert (bpe.name, bpe.aliases) == ("sentencepiece-bpe", ("spm-bpe",))
    assert (unigram.name, unigram.aliases) == ("sentencepiece-unigram", ("spm-unigram",))
    assert bpe.description and unigram.description


@pytest.mark.parametrize("trainer", TRAINERS, ids=lambda t: t.name)
def test_standalone_vocabulary_loads_round_trips_and_keeps_specials(trainer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = train(trainer, out, special_tokens=["<|im_start|>", "<|im_end|>"])
    assert sorted(p.name for p in out.iterdir()) == ["tokenizer.json", "tokenizer.model", "tokenizer_config.json"]
    assert report.trainer == trainer.name and report.vocab_size == 1000 and report.base is None
    assert report.special_tokens == ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    assert report.texts >= 1 and len(report.examples) == 10
    tokenizer = verify_tokenizer(out)
    assert len(tokenizer) == 1000
    assert (tokenizer.unk_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    assert {"<|im_start|>", "<|im_end|>"} <= set(tokenizer.all_special_tokens)
    assert tokenizer.encode("<|im_start|>Привет<|im_end|>")[:2] == [1, 3]
    assert tokenizer.encode("Привет", add_special_tokens=False)[0] != 3
    text = RU_DEV.read_text(encoding="utf-8")
    assert tokenizer_stats(tokenizer, text)["chars_per_token"] > 1.9  # Russian words, not letters


def test_replacing_llama2_keeps_its_specials_flags_and_files(real_tokenizer, tmp_path: Path) -> None:
    bpe = SentencePieceBpeTrainer()
    assert bpe.fits_base(LLAMA2) and not SentencePieceUnigramTrainer().fits_base(LLAMA2)
    out = tmp_path / "out"
    report = train(bpe, out, 1500, base_dir=LLAMA2)
    assert report.base == str(LLAMA2) and report.vocab_size == 1500
    assert sorted(p.name for p in out.iterdir()) == sorted([*(p.name for p in LLAMA2.iterdir()), "tokenizer.json"])
    new = verify_tokenizer(out, LLAMA2)
    base = real_tokenizer("llama2")
    assert (new.bos_token, new.eos_token, new.unk_token) == (base.bos_token, base.eos_token, base.unk_token)
    assert (new.bos_token_id, new.eos_token_id, new.unk_token_id) == (1, 2, 0)
    assert json.loads((out / "tokenizer_config.json").read_text()) == json.loads(
        (LLAMA2 / "tokenizer_config.json").read_text()
    )
    proto, base_proto = spm.read_base_model(out), spm.read_base_model(LLAMA2)
    assert proto.normalizer_spec == base_proto.normalizer_spec
    assert proto.trainer_spec.split_digits and proto.trainer_spec.byte_fallback


def test_replacing_keeps_tokens_added_beyond_the_model_and_lists_extra_specials(tmp_path: Path) -> None:
    base = tmp_path / "base"
    shutil.copytree(LLAMA2, base)
    config = json.loads((base / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.update(pad_token="<pad>", added_tokens_decoder={"32000": {"content": "<pad>", "special": True}})
    (base / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    out = tmp_path / "out"
    train(SentencePieceBpeTrainer(), out, 1200, base_dir=base, special_tokens=["<|im_end|>"])
    new = verify_tokenizer(out, base)
    assert new.pad_token == "<pad>" and new.pad_token_id == 3 and new.convert_tokens_to_ids("<|im_end|>") == 4
    written = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert written["added_tokens_decoder"] == {"3": {"content": "<pad>", "special": True}}
    assert written["additional_special_tokens"] == ["<|im_end|>"]


def test_replacing_a_unigram_base_keeps_its_chat_template_and_padding(unigram_base: Path, tmp_path: Path) -> None:
    unigram = SentencePieceUnigramTrainer()
    assert unigram.fits_base(unigram_base) and not SentencePieceBpeTrainer().fits_base(unigram_base)
    out = tmp_path / "out"
    report = train(unigram, out, 900, base_dir=unigram_base)
    assert "<|im_end|>" in report.special_tokens
    new = verify_tokenizer(out, unigram_base)
    assert new.padding_side == "right" and new.convert_tokens_to_ids("<|im_end|>") == 3


def test_fits_base_refuses_other_kinds_and_missing_models(tmp_path: Path) -> None:
    for trainer in TRAINERS:
        assert not trainer.fits_base(DATA / "tokenizers" / "qwen2.5")
        assert not trainer.fits_base(tmp_path) and not trainer.fits_base(tmp_path / "nope")
    (tmp_path / "tokenizer.model").write_bytes(b"not a model")
    assert not any(trainer.fits_base(tmp_path) for trainer in TRAINERS)


def test_a_base_of_the_other_kind_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(RuLLMError, match="is a SentencePiece bpe tokenizer; the sentencepiece-unigram") as error:
        train(SentencePieceUnigramTrainer(), tmp_path / "out", base_dir=LLAMA2)
    assert "the sentencepiece-bpe trainer" in error.value.hint


def test_min_vocab_size_counts_special_and_byte_pieces() -> None:
    bpe = SentencePieceBpeTrainer()
    assert bpe.min_vocab_size() == 3 + 256 + 1
    assert bpe.min_vocab_size(special_tokens=["<a>", "<b>"]) == 3 + 2 + 256 + 1
    assert bpe.min_vocab_size(base_dir=LLAMA2) == 3 + 256 + 1


@pytest.mark.parametrize("trainer", TRAINERS, ids=lambda t: t.name)
def test_vocabulary_larger_than_the_corpus_supports_names_the_most(trainer, tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("Мама мыла раму. Папа читал газету.\n" * 3, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuLLMError, match=r"vocabulary size 5000: the corpus supports at most (\d+)") as error:
        trainer.train(weighted_texts([str(tiny)]), 5000, out)
    assert "ask for" in error.value.hint and list(out.iterdir()) == []
