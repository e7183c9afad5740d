"""Conversations to training samples: tokens and labels from our templates, whole-turn truncation.

Labels come from ``ru_llm.dataset``'s ``tokenize_conversation`` (the one masking path): the
assistant replies and their end-of-turn tokens are trained, or every token with ``train_on: all``.
A conversation longer than the context keeps its leading turns up to the last assistant reply that
fits; one whose first reply does not fit, or that has nothing to train, is a reject with its reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ru_llm.core.conversation import Conversation
from ru_llm.core.errors import RecordError
from ru_llm.core.jsonl import Reject
from ru_llm.core.labels import IGNORE_INDEX


@dataclass
class Sample:
    """One encoded conversation (int32 arrays keep 250k conversations in a few hundred MB)."""

    id: str
    input_ids: np.ndarray
    labels: np.ndarray
    dropped_turns: int = 0

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def trained_tokens(self) -> int:
        return int((self.labels != IGNORE_INDEX).sum())


@dataclass
class EncodeStats:
    """Records in = used + rejected (by reason); how many were shortened by whole turns."""

    records: int = 0
    used: int = 0
    truncated: int = 0
    tokens: int = 0
    trained_tokens: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "used": self.used,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(self.rejected.most_common()),
            "truncated_by_turns": self.truncated,
            "tokens": self.tokens,
            "trained_tokens": self.trained_tokens,
        }


class ConversationEncoder:
    """Encode conversations for one template, tokenizer and context length."""

    def __init__(self, template: Any, tokenizer: Any, *, max_length: int, train_on: str = "assistant") -> None:
        self.template = template
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.train_on = train_on

    def _tokens(self, conv: Conversation) -> tuple[list[int], list[int]]:
        from ru_llm.dataset.templates.labels import tokenize_conversation

        encoded = tokenize_conversation(conv, self.template, self.tokenizer)
        ids = encoded["input_ids"]
        labels = list(ids) if self.train_on == "all" else encoded["labels"]
        return ids, labels

    def encode(self, conv: Conversation) -> Sample:
        """A sample, shortened by whole trailing turns when needed; :class:`RecordError` when unusable."""
        ids, labels = self._tokens(conv)
        dropped = 0
        if len(ids) > self.max_length:
            ids, labels, dropped = self._fit_by_turns(conv, len(ids))
        return Sample(conv.id, np.asarray(ids, dtype=np.int32), np.asarray(labels, dtype=np.int32), dropped)

    def _fit_by_turns(self, conv: Conversation, full_length: int) -> tuple[list[int], list[int], int]:
        messages = conv.messages
        ends = [i + 1 for i, m in enumerate(messages) if m.role == "assistant"]
        # Try the longest prefix ending on an assistant reply first; lengths only grow with turns, so
        # the first prefix that fits is the longest one.
        for end in reversed([e for e in ends if e < len(messages)]):
            shorter = replace(conv, messages=messages[:end])
            ids, labels = self._tokens(shorter)
            if len(ids) <= self.max_length:
                return ids, labels, len(messages) - end
        raise RecordError(
            f"too long: the first assistant reply does not fit in max_length {self.max_length} "
            f"({full_length} tokens in all)",
            record_id=conv.id,
            hint="raise max_length, or filter long conversations when building the dataset",
        )


def reason_key(reason: str) -> str:
    """A reason without its numbers, for counting rejects by kind."""
    return reason.split(":")[0].split(" (")[0].strip()


def encode_all(
    conversations: Iterable[Conversation],
    encoder: ConversationEncoder,
    *,
    on_reject: Callable[[Reject], object],
    stats: EncodeStats,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Sample]:
    """Encode every conversation; unusable ones go to ``on_reject``, counted in ``stats``."""
    samples: list[Sample] = []
    for conv in _limited(conversations, limit):
        stats.records += 1
        try:
            sample = encoder.encode(conv)
        except RecordError as e:
            stats.rejected[reason_key(e.reason)] += 1
            on_reject(Reject(e.reason, record_id=conv.id, record=conv.to_dict(), source=conv.source))
            continue
        stats.used += 1
        stats.truncated += bool(sample.dropped_turns)
        stats.tokens += len(sample)
        stats.trained_tokens += sample.trained_tokens
        samples.append(sample)
        if progress is not None:
            progress(1)
    return samples


def _limited(items: Iterable[Conversation], limit: int | None) -> Iterator[Conversation]:
    for i, item in enumerate(items):
        if limit is not None and i >= limit:
            return
        yield item
