"""The test kit itself: every tiny model loads through the Auto classes, generates, and stays small."""

from __future__ import annotations

import pytest
from kit.tiny_models import TINY_MODELS

SEQ2SEQ = {"marian", "m2m100"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY_MODELS))
def test_tiny_model_loads_and_generates(tiny_model, name: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    path = tiny_model(name)
    files = {p.name for p in path.iterdir()}
    assert "model.safetensors" in files and not any(f.endswith(".bin") for f in files)
    assert sum(p.stat().st_size for p in path.iterdir()) < 25_000_000
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = (AutoModelForSeq2SeqLM if name in SEQ2SEQ else AutoModelForCausalLM).from_pretrained(path)
    text = "Переведи: the cat sits on the mat."
    ids = tokenizer(text)["input_ids"]
    assert len(ids) < len(text), "the tokenizer should merge characters into pieces"
    assert tokenizer.unk_token_id not in ids  # every vocabulary covers this text
    kwargs = {}
    if name == "m2m100":
        kwargs["forced_bos_token_id"] = tokenizer.get_lang_id("ru")
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=4, do_sample=False, **kwargs)
    assert out.shape[0] == 1 and out.shape[1] >= 2
    if name == "m2m100":
        assert out[0, 1].item() == tokenizer.get_lang_id("ru")
    assert model.config.vocab_size >= max(tokenizer.get_vocab().values()) + 1


@pytest.mark.slow
def test_tiny_models_are_deterministic(tmp_path) -> None:
    from kit.tiny_models import build_tiny_model
    from safetensors.torch import load_file

    a = load_file(build_tiny_model("gpt2", tmp_path / "a") / "model.safetensors")
    b = load_file(build_tiny_model("gpt2", tmp_path / "b") / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_llama_small_keeps_the_llama2_tokenizer_layout(tiny_model) -> None:
    """llama-small stands in for LLaMA-2 in the DPO tests: its special tokens and ids, BOS added, few pieces."""
    from kit.tiny_models import SMALL_VOCAB
    from transformers import AutoTokenizer

    small = AutoTokenizer.from_pretrained(tiny_model("llama-small"))
    real = AutoTokenizer.from_pretrained(tiny_model("llama"))
    specials = ("unk_token", "bos_token", "eos_token", "pad_token", "unk_token_id", "bos_token_id", "eos_token_id")
    for attribute in specials:
        assert getattr(small, attribute) == getattr(real, attribute), attribute
    for tokenizer in (small, real):
        ids = tokenizer("Привет, мир")["input_ids"]
        assert ids[0] == tokenizer.bos_token_id and ids[-1] != tokenizer.eos_token_id
    assert len(small) == SMALL_VOCAB < len(real)


def test_qwen2_small_keeps_qwen25s_pipeline_and_chat_template(tiny_model) -> None:
    """qwen2-small stands in for Qwen2.5 where the vocabulary is not the subject: the same special tokens,
    chat template and text pipeline (the same string back from ids), on a thirtieth of the tokens."""
    from transformers import AutoTokenizer

    small = AutoTokenizer.from_pretrained(tiny_model("qwen2-small"))
    real = AutoTokenizer.from_pretrained(tiny_model("qwen2"))
    for attribute in ("eos_token", "pad_token", "bos_token", "chat_template", "add_bos_token"):
        assert getattr(small, attribute, None) == getattr(real, attribute, None), attribute
    assert {t.content for t in small.added_tokens_decoder.values()} == {
        t.content for t in real.added_tokens_decoder.values()
    }
    messages = [{"role": "user", "content": "Привет!"}, {"role": "assistant", "content": "Здравствуйте."}]
    assert small.apply_chat_template(messages, tokenize=False) == real.apply_chat_template(messages, tokenize=False)
    text = "Сегодня  хорошая погода,\n\tи the cat sits 42 раза."
    assert small.decode(small(text)["input_ids"]) == real.decode(real(text)["input_ids"]) == text
    assert len(small) * 30 < len(real)
