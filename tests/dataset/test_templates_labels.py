"""Tokens and labels with real tokenizers: whole-string tokenization, exact trainable tokens, one BOS."""

from __future__ import annotations

import pytest

from ru_llm.core import RecordError, conversation
from ru_llm.dataset import get_template, render_text
from ru_llm.dataset.templates import IGNORE_INDEX, tokenize_conversation, tokenize_segments

TOKENIZERS = ("qwen2.5", "llama2", "llama3", "mistral-7b-v0.1")
# Each template with the tokenizers of the models it is meant for: there its markers are whole tokens.
NATIVE = [
    ("chatml", "qwen2.5"),
    ("qwen2.5", "qwen2.5"),
    ("llama3", "llama3"),
    ("llama2", "llama2"),
    ("mistral", "mistral-7b-v0.1"),
    ("saiga", "llama2"),
    ("saiga", "mistral-7b-v0.1"),
    ("human_assistant", "llama2"),
    ("human_assistant", "mistral-7b-v0.1"),
]
CONVERSATIONS = [
    conversation("one", [("user", "Привет! Как дела?"), ("assistant", "Отлично, спасибо. А у вас?")]),
    conversation(
        "sys",
        [
            ("system", "Ты полезный ассистент."),
            ("user", "Переведи: good morning"),
            ("assistant", "Доброе утро"),
            ("user", "А «добрый вечер»?\nИ ещё [INST] внутри"),
            ("assistant", "Good evening 🌙"),
        ],
    ),
    conversation("edge", [("user", ""), ("assistant", "  x  "), ("user", "ё"), ("assistant", "")]),
]


def trainable_runs(ids: list[int], labels: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    previous = False
    for token, label in zip(ids, labels, strict=True):
        if label != IGNORE_INDEX:
            if not previous:
                runs.append([])
            runs[-1].append(token)
        previous = label != IGNORE_INDEX
    return runs


@pytest.mark.parametrize(("name", "tokenizer_name"), NATIVE)
@pytest.mark.parametrize("conv", CONVERSATIONS, ids=lambda c: c.id)
def test_native_pairs_train_exactly_the_replies(name: str, tokenizer_name: str, conv, real_tokenizer) -> None:
    tokenizer = real_tokenizer(tokenizer_name)
    template = get_template(name)
    text = render_text(template, conv)
    out = tokenize_conversation(conv, template, tokenizer)
    ids, labels = out["input_ids"], out["labels"]
    assert out["attention_mask"] == [1] * len(ids)
    assert all(label in (token, IGNORE_INDEX) for token, label in zip(ids, labels, strict=True))

    # Exactly the tokens of the whole rendered string (plus a BOS where the text has none).
    whole = tokenizer(text, add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id
    assert ids == whole or ids == [bos, *whole]
    # One BOS at the start and never two in a row; every other BOS is a literal of the template.
    if bos is not None:
        assert ids[0] == bos and ids[:2] != [bos, bos]
        assert ids.count(bos) == max(1, text.count(tokenizer.bos_token))

    decoded = tokenizer.decode(ids)
    expected_text = (tokenizer.bos_token if ids != whole else "") + text
    if tokenizer_name == "llama2":
        # The legacy Llama-2 tokenizer adds "▁" after special tokens, as Meta's reference encoder does.
        assert decoded.replace(" ", "") == expected_text.replace(" ", "")
    else:
        assert decoded == expected_text

    expected = [s.text for s in template.render(conv) if s.trainable]
    runs = [tokenizer.decode(run) for run in trainable_runs(ids, labels)]
    assert [r.strip() for r in runs] == [e.strip() for e in expected]


@pytest.mark.parametrize("name", ["human_assistant", "saiga", "chatml", "llama2", "llama3", "mistral"])
@pytest.mark.parametrize("tokenizer_name", TOKENIZERS)
def test_any_pair_covers_every_trainable_character(name: str, tokenizer_name: str, real_tokenizer) -> None:
    tokenizer = real_tokenizer(tokenizer_name)
    segments = get_template(name).render(CONVERSATIONS[1])
    text = "".join(s.text for s in segments)
    mask = "".join(("1" if s.trainable else "0") * len(s.text) for s in segments)
    _, labels = tokenize_segments(segments, tokenizer, add_bos=False)
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    covered = [False] * len(text)
    for (start, end), label in zip(offsets, labels, strict=True):
        overlaps = "1" in mask[start:end]
        assert (label != IGNORE_INDEX) == overlaps  # trained iff it carries a trainable character
        for i in range(start, end):
            covered[i] = covered[i] or label != IGNORE_INDEX
    assert all(covered[i] for i, bit in enumerate(mask) if bit == "1")


def test_bos_is_added_once_when_the_template_has_none(real_tokenizer) -> None:
    tokenizer = real_tokenizer("llama3")
    out = tokenize_conversation(CONVERSATIONS[0], get_template("chatml"), tokenizer)
    assert out["input_ids"][0] == tokenizer.bos_token_id and out["labels"][0] == IGNORE_INDEX
    assert out["input_ids"].count(tokenizer.bos_token_id) == 1
    plain = tokenize_conversation(CONVERSATIONS[0], get_template("chatml"), tokenizer, add_bos=False)
    assert plain["input_ids"] == out["input_ids"][1:]


def test_truncation_keeps_the_prefix(real_tokenizer) -> None:
    tokenizer = real_tokenizer("qwen2.5")
    full = tokenize_conversation(CONVERSATIONS[1], get_template("chatml"), tokenizer)
    cut = tokenize_conversation(CONVERSATIONS[1], get_template("chatml"), tokenizer, max_length=40)
    assert cut["input_ids"] == full["input_ids"][:40] and cut["labels"] == full["labels"][:40]


def test_a_sample_truncated_before_any_reply_is_an_error(real_tokenizer) -> None:
    with pytest.raises(RecordError, match="within the first 5 tokens") as info:
        tokenize_conversation(CONVERSATIONS[1], get_template("chatml"), real_tokenizer("qwen2.5"), max_length=5)
    assert info.value.record_id == "sys"


def test_a_conversation_without_a_reply_is_an_error(real_tokenizer) -> None:
    conv = conversation("no-reply", [("system", "s"), ("user", "Вопрос без ответа")])
    with pytest.raises(RecordError, match="no trainable token") as info:
        tokenize_conversation(conv, get_template("llama3"), real_tokenizer("llama3"))
    assert info.value.record_id == "no-reply"


@pytest.mark.parametrize(("tokenizer_name", "token"), [("qwen2.5", "<|im_end|>"), ("llama2", "</s>")])
def test_special_token_text_in_a_message_is_refused_unless_allowed(tokenizer_name, token, real_tokenizer) -> None:
    tokenizer = real_tokenizer(tokenizer_name)
    conv = conversation("inj", [("user", f"скажи {token}"), ("assistant", "нет")])
    with pytest.raises(RecordError, match="special token") as info:
        tokenize_conversation(conv, get_template("chatml"), tokenizer)
    assert info.value.record_id == "inj"
    out = tokenize_conversation(conv, get_template("chatml"), tokenizer, allow_special_tokens=True)
    assert tokenizer.convert_tokens_to_ids(token) in out["input_ids"]
