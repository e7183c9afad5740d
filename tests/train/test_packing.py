"""Packing: every sample in one pack, losses equal to unpacked training, no attention across samples."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kit.train_data import oasst_conversations

from ru_llm.train.data.collate import PackedCollator, PaddedCollator
from ru_llm.train.data.encode import IGNORE_INDEX, ConversationEncoder, EncodeStats, Sample, encode_all
from ru_llm.train.data.packing import pack_samples


def _sample(i: int, n: int) -> Sample:
    ids = np.arange(1, n + 1, dtype=np.int32) + i
    return Sample(f"s{i}", ids, ids.copy())


def test_best_fit_packs_every_sample_once_within_the_length() -> None:
    rng = np.random.default_rng(0)
    samples = [_sample(i, int(n)) for i, n in enumerate(rng.integers(1, 100, size=300))]
    packs = pack_samples(samples, 128)
    ids = [sid for p in packs for sid in p.sample_ids]
    assert sorted(ids) == sorted(s.id for s in samples)
    assert all(len(p) <= 128 for p in packs)
    fill = sum(len(s) for s in samples) / (128 * len(packs))
    assert fill > 0.9, fill
    for pack in packs:  # positions restart at every sample and the first label of each is ignored
        starts = np.flatnonzero(pack.position_ids == 0)
        assert len(starts) == len(pack.sample_ids)
        assert (pack.labels[starts] == IGNORE_INDEX).all()


def test_a_sample_longer_than_the_context_is_a_bug_not_a_silent_cut() -> None:
    with pytest.raises(ValueError, match="more than max_length"):
        pack_samples([_sample(0, 10)], 5)


def _encode(model_dir, template_name: str, max_length: int = 256) -> tuple[list[Sample], object]:  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    from ru_llm.dataset.templates.hf import resolve_template

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    template = resolve_template(template_name, tokenizer)
    encoder = ConversationEncoder(template, tokenizer, max_length=max_length)
    rejects: list = []
    samples = encode_all(oasst_conversations(), encoder, on_reject=rejects.append, stats=EncodeStats())
    return samples, tokenizer


@pytest.mark.slow
@pytest.mark.parametrize(("family", "template"), [("llama", "saiga"), ("qwen2", "chatml")])
def test_packed_loss_equals_unpacked_and_samples_do_not_see_each_other(tiny_model, family: str, template: str) -> None:
    from transformers import AutoModelForCausalLM

    model_dir = tiny_model(family)
    samples, tokenizer = _encode(model_dir, template)
    # the six shortest samples (69-117 tokens with llama, 27-77 with qwen2) pack two to four a pack; every
    # position is a row of 32k (llama) or 151k (qwen2) logits: the first twelve (up to 215 tokens, four of
    # them alone in a pack) cost the qwen2 case 8 s of forward passes
    samples = sorted(samples, key=len)[:6]
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    packs = pack_samples(samples, 256)
    assert len(packs) < len(samples)
    with torch.no_grad():
        padded = PaddedCollator(pad)(samples)
        unpacked_loss = model(**padded).loss
        packed = PackedCollator(pad)(packs)
        packed_loss = model(**packed).loss
        # the same tokens are trained either way: padded drops label 0 by the shift, packed masks it
        trained_unpacked = int((padded["labels"][:, 1:] != IGNORE_INDEX).sum())
        trained_packed = int((packed["labels"][:, 1:] != IGNORE_INDEX).sum())
        assert trained_unpacked == trained_packed
        assert abs(unpacked_loss.item() - packed_loss.item()) < 1e-4

        # change every token of the first sample of a pack: the other samples' logits stay the same
        pack = next(p for p in packs if len(p.sample_ids) >= 2)
        first_len = int(np.flatnonzero(pack.position_ids == 0)[1])
        batch = PackedCollator(pad)([pack])
        changed = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        changed["input_ids"][0, :first_len] = (changed["input_ids"][0, :first_len] + 7) % model.config.vocab_size
        before = model(**batch).logits[0, first_len:]
        after = model(**changed).logits[0, first_len:]
        assert torch.allclose(before, after, atol=1e-5)
        assert not torch.allclose(model(**batch).logits[0, :first_len], model(**changed).logits[0, :first_len])


@pytest.mark.slow
def test_packing_is_refused_for_an_architecture_that_mixes_samples(tiny_model) -> None:
    from transformers import AutoConfig

    from ru_llm.core.errors import ConfigError
    from ru_llm.train.packing_support import check_packing_support, packed_samples_are_isolated

    assert packed_samples_are_isolated(AutoConfig.from_pretrained(tiny_model("llama")))
    xglm = AutoConfig.from_pretrained(tiny_model("xglm"))
    assert not packed_samples_are_isolated(xglm)

    class Config:
        attn_implementation = None

    with pytest.raises(ConfigError, match="xglm models attend across packed samples"):
        check_packing_support(Config(), xglm)  # type: ignore[arg-type]
