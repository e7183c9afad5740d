"""``ru-llm dataset stats``: what a conversation file (or a preference file) holds.

A file whose first record is a preference pair (see :func:`~ru_llm.dataset.preference.is_preference_file`)
is read as pairs: ``kind`` is ``"preference"``, ``pairs`` counts them, the turn and user-length figures
describe the prompts, and ``chosen_chars_mean`` / ``rejected_chars_mean`` the replies.

Records are read as training reads them (the turn rules of :mod:`ru_llm.core.validate`), so ``invalid``
counts, with the same reasons, the records a run would reject. ``commercial`` counts the licence stamps:
``true``, ``false`` and ``unstamped`` (records without the key, which ``--commercial`` refuses).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.conversation import Conversation
from ru_llm.core.jsonl import Reject
from ru_llm.core.validate import read_checked_conversations
from ru_llm.dataset.preference import is_preference_file, read_preferences


@dataclass
class FileStats:
    kind: str = "conversation"  # or "preference"
    conversations: int = 0  # records read: conversations, or preference pairs
    invalid: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    licenses: Counter[str] = field(default_factory=Counter)
    commercial: Counter[str] = field(default_factory=Counter)  # "true", "false", "unstamped"
    with_system: int = 0
    turns: int = 0  # user turns
    max_turns: int = 0
    user_chars: int = 0
    assistant_chars: int = 0
    chosen_chars: int = 0
    rejected_chars: int = 0

    def to_dict(self) -> dict[str, Any]:
        n = max(self.conversations, 1)
        if self.kind == "preference":
            return {
                "kind": self.kind,
                "pairs": self.conversations,
                **self._common(n),
                "prompt_turns_mean": round(self.turns / n, 3),
                "prompt_turns_max": self.max_turns,
                "user_chars_mean": round(self.user_chars / max(self.turns, 1), 1),
                "chosen_chars_mean": round(self.chosen_chars / n, 1),
                "rejected_chars_mean": round(self.rejected_chars / n, 1),
            }
        return {
            "conversations": self.conversations,
            **self._common(n),
            "turns_mean": round(self.turns / n, 3),
            "turns_max": self.max_turns,
            "user_chars_mean": round(self.user_chars / max(self.turns, 1), 1),
            "assistant_chars_mean": round(self.assistant_chars / max(self.turns, 1), 1),
        }

    def _common(self, n: int) -> dict[str, Any]:
        return {
            "invalid": sum(self.invalid.values()),
            "invalid_reasons": dict(self.invalid),
            "sources": dict(self.sources.most_common()),
            "languages": dict(self.languages.most_common()),
            "licenses": dict(self.licenses.most_common()),
            "commercial": {key: self.commercial[key] for key in ("true", "false", "unstamped") if self.commercial[key]},
            "with_system": self.with_system,
        }


def file_stats(path: str | Path) -> FileStats:
    """Stream a conversation or preference file; invalid lines are counted by reason, not fatal."""
    stats = FileStats()

    def invalid(reject: Reject) -> None:
        stats.invalid[reject.reason] += 1

    if is_preference_file(path):
        stats.kind = "preference"
        for pair in read_preferences(path, on_reject=invalid):
            _count(stats, pair.prompt)
            stats.chosen_chars += len(pair.chosen)
            stats.rejected_chars += len(pair.rejected)
        return stats
    for conv in read_checked_conversations(path, strict=False, on_reject=invalid):
        _count(stats, conv)
    return stats


def _count(stats: FileStats, conv: Conversation) -> None:
    stats.conversations += 1
    stats.sources[conv.source or "unknown"] += 1
    stats.languages[conv.lang or "unknown"] += 1
    stats.licenses[conv.license or "unknown"] += 1
    stats.commercial["unstamped" if conv.commercial is None else str(conv.commercial).lower()] += 1
    users = conv.turns("user")
    stats.with_system += any(m.role == "system" for m in conv.messages)
    stats.turns += len(users)
    stats.max_turns = max(stats.max_turns, len(users))
    stats.user_chars += sum(len(m.content) for m in users)
    stats.assistant_chars += sum(len(m.content) for m in conv.turns("assistant"))
