"""Tokens and labels for training: the rendered text is tokenized once, whole, and masks follow offsets.

Tokenizing segments one by one drifts at their boundaries (a BPE merge or SentencePiece's space
prefix differs from what the model sees at inference); tokenizing the whole string and mapping the
character mask through the offsets gives exactly the tokens of ``tokenizer(text)``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import accumulate
from typing import Any

from ru_llm.core.conversation import Conversation
from ru_llm.core.errors import ConfigError, RecordError
from ru_llm.core.labels import IGNORE_INDEX
from ru_llm.dataset.templates import Segment, Template


def tokenize_segments(
    segments: list[Segment], tokenizer: Any, *, add_bos: bool | None = None
) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` for rendered segments; a token is trainable if any of its characters is.

    :param add_bos: prepend the tokenizer's BOS token. ``None`` (default): when the tokenizer adds
        one to plain text and the rendered text does not already start with it.
    """
    text = "".join(s.text for s in segments)
    try:
        encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    except NotImplementedError:  # slow (Python) tokenizers have no offsets
        raise ConfigError(
            "tokenizing with labels needs a fast tokenizer (with offsets)",
            hint="load it with use_fast=True, or save it with a tokenizer.json",
        ) from None
    ids = list(encoding["input_ids"])
    # trained[i] = how many trainable characters come before position i; a token (a, b) is
    # trainable when trained[b] > trained[a].
    trained = [0, *accumulate(int(s.trainable) for s in segments for _ in s.text)]
    labels = [
        token if trained[end] > trained[start] else IGNORE_INDEX
        for token, (start, end) in zip(ids, encoding["offset_mapping"], strict=True)
    ]
    bos = getattr(tokenizer, "bos_token_id", None)
    if add_bos is None:
        add_bos = bos is not None and _adds_bos(tokenizer, bos) and not (ids and ids[0] == bos)
    if add_bos and bos is not None:
        ids.insert(0, bos)
        labels.insert(0, IGNORE_INDEX)
    return ids, labels


def _adds_bos(tokenizer: Any, bos: int) -> bool:
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return bool(ids) and ids[0] == bos


def tokenize_conversation(
    conversation: Conversation,
    template: Template,
    tokenizer: Any,
    *,
    max_length: int | None = None,
    add_bos: bool | None = None,
    allow_special_tokens: bool = False,
) -> dict[str, list[int]]:
    """``input_ids``, ``attention_mask`` and ``labels`` (``-100`` where not trained) for one conversation.

    :param max_length: keep the first ``max_length`` tokens.
    :param add_bos: see :func:`tokenize_segments`.
    :param allow_special_tokens: let message text contain the tokenizer's special tokens (``</s>``,
        ``<|im_end|>``, …), which would be read as control tokens; by default that is a RecordError.
    A sample with no trainable token left is a :class:`RecordError`, never a silent zero-loss sample.
    """
    if not allow_special_tokens:
        refuse_special_tokens(conversation, tokenizer)
    ids, labels = tokenize_segments(template.render(conversation), tokenizer, add_bos=add_bos)
    trainable_before = any(label != IGNORE_INDEX for label in labels)
    if max_length is not None:
        if max_length < 1:
            raise ConfigError(f"max_length must be at least 1, got {max_length}")
        ids, labels = ids[:max_length], labels[:max_length]
    if not any(label != IGNORE_INDEX for label in labels):
        if trainable_before:
            reason = f"no trainable token within the first {max_length} tokens (the replies are truncated away)"
            hint = "raise max_length or drop long prompts"
        else:
            reason = f"no trainable token: the {template.name} template gives no assistant reply to learn"
            hint = "every training conversation needs an assistant turn"
        raise RecordError(reason, record_id=conversation.id, hint=hint)
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}


@lru_cache(maxsize=16)
def _special_pattern(special: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for all special tokens (Llama 3 has 256; this runs on every conversation)."""
    ordered = sorted({t for t in special if t}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered))) if ordered else None


def refuse_special_tokens(conversation: Conversation, tokenizer: Any) -> None:
    """A message that contains one of the tokenizer's special tokens is a RecordError (it would be read as control)."""
    pattern = _special_pattern(tuple(getattr(tokenizer, "all_special_tokens", ())))
    if pattern is None:
        return
    for i, message in enumerate(conversation.messages):
        if found := pattern.search(message.content):
            raise RecordError(
                f"message {i} ({message.role}) contains {found.group()!r}, a special token of this tokenizer",
                record_id=conversation.id,
                hint="clean the text, or pass allow_special_tokens=True to train on it as that token",
            )
