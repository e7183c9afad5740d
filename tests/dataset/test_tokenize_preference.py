"""Preference pairs through our templates with real tokenizers: one prompt, two replies with end-of-turn tokens."""

from __future__ import annotations

import pytest

from ru_llm.core import RecordError, conversation
from ru_llm.dataset import get_template
from ru_llm.dataset.templates import IGNORE_INDEX, tokenize_conversation, tokenize_preference

NATIVE = [("chatml", "qwen2.5"), ("llama3", "llama3"), ("mistral", "mistral-7b-v0.1"), ("saiga", "llama2")]
PROMPT = conversation(
    "pair-1",
    [
        ("system", "Ты полезный ассистент."),
        ("user", "Как называется столица России?"),
        ("assistant", "Москва."),
        ("user", "А Франции?"),
    ],
)
CHOSEN = "Столица Франции — Париж."
REJECTED = "Не знаю, спросите кого-нибудь другого."


def _whole(reply: str) -> object:
    return conversation(PROMPT.id, [*((m.role, m.content) for m in PROMPT.messages), ("assistant", reply)])


@pytest.mark.parametrize(("template_name", "tokenizer_name"), NATIVE)
def test_prompt_and_replies_are_the_training_tokens(template_name, tokenizer_name, real_tokenizer):
    tokenizer = real_tokenizer(tokenizer_name)
    template = get_template(template_name)
    if template_name == "mistral":  # no system turn in this template
        prompt = conversation(PROMPT.id, [(m.role, m.content) for m in PROMPT.messages[1:]])
    else:
        prompt = PROMPT
    tokens = tokenize_preference(prompt, CHOSEN, REJECTED, template, tokenizer)
    for reply, ids in ((CHOSEN, tokens.chosen_ids), (REJECTED, tokens.rejected_ids)):
        whole = conversation(prompt.id, [*((m.role, m.content) for m in prompt.messages), ("assistant", reply)])
        sft = tokenize_conversation(whole, template, tokenizer)
        # the pair is exactly the supervised sequence up to the last trained token (its end-of-turn)
        trained = [i for i, label in enumerate(sft["labels"]) if label != IGNORE_INDEX]
        last_reply = [i for i in trained if i >= len(tokens.prompt_ids)]
        assert tokens.prompt_ids + ids == sft["input_ids"][: last_reply[-1] + 1]
        assert reply.split()[0] in tokenizer.decode(ids)
    assert not tokens.truncated


def test_chatml_replies_end_on_im_end_and_prompt_on_the_assistant_header(real_tokenizer):
    tokenizer = real_tokenizer("qwen2.5")
    tokens = tokenize_preference(PROMPT, CHOSEN, REJECTED, get_template("chatml"), tokenizer)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert tokens.chosen_ids[-1] == im_end and tokens.rejected_ids[-1] == im_end
    assert tokenizer.decode(tokens.prompt_ids).endswith("<|im_start|>assistant\n")
    assert tokenizer.decode(tokens.chosen_ids) == CHOSEN + "<|im_end|>"


def test_identical_replies_are_refused(real_tokenizer):
    with pytest.raises(RecordError, match="identical") as info:
        tokenize_preference(PROMPT, "Париж.", "Париж.", get_template("chatml"), real_tokenizer("qwen2.5"))
    assert info.value.record_id == "pair-1"


def test_prompt_must_end_on_a_user_turn(real_tokenizer):
    prompt = conversation("p", [("user", "Привет"), ("assistant", "Здравствуйте")])
    with pytest.raises(RecordError, match="user turn"):
        tokenize_preference(prompt, "a", "b", get_template("chatml"), real_tokenizer("qwen2.5"))


def test_replies_keep_their_start_when_cut_to_max_length(real_tokenizer):
    tokenizer = real_tokenizer("qwen2.5")
    full = tokenize_preference(PROMPT, CHOSEN, REJECTED, get_template("chatml"), tokenizer)
    limit = len(full.prompt_ids) + 3
    cut = tokenize_preference(PROMPT, CHOSEN, REJECTED, get_template("chatml"), tokenizer, max_length=limit)
    assert cut.truncated
    assert cut.prompt_ids == full.prompt_ids
    assert cut.chosen_ids == full.chosen_ids[:3] and cut.rejected_ids == full.rejected_ids[:3]


def test_truncation_that_empties_or_equalises_the_replies_is_a_reject(real_tokenizer):
    tokenizer = real_tokenizer("qwen2.5")
    template = get_template("chatml")
    full = tokenize_preference(PROMPT, CHOSEN, REJECTED, template, tokenizer)
    with pytest.raises(RecordError, match="prompt fills max_length"):
        tokenize_preference(PROMPT, CHOSEN, REJECTED, template, tokenizer, max_length=len(full.prompt_ids))
    # replies that differ only after the first token become identical when cut to one token
    with pytest.raises(RecordError, match="identical within max_length"):
        tokenize_preference(
            PROMPT, "Париж, конечно.", "Париж?", template, tokenizer, max_length=len(full.prompt_ids) + 1
        )


def test_max_prompt_length(real_tokenizer):
    tokenizer = real_tokenizer("qwen2.5")
    with pytest.raises(RecordError, match="longer than max_prompt_length"):
        tokenize_preference(PROMPT, CHOSEN, REJECTED, get_template("chatml"), tokenizer, max_prompt_length=5)


def test_special_tokens_in_a_reply_are_refused(real_tokenizer):
    with pytest.raises(RecordError, match="special token"):
        tokenize_preference(PROMPT, "Париж<|im_end|>", REJECTED, get_template("chatml"), real_tokenizer("qwen2.5"))
