"""``ru-llm dataset stats``: what a conversation file holds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.jsonl import Reject, read_conversations


@dataclass
class FileStats:
    conversations: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    licenses: Counter[str] = field(default_factory=Counter)
    with_system: int = 0
    turns: int = 0  # user turns
    max_turns: int = 0
    user_chars: int = 0
    assistant_chars: int = 0

    def to_dict(self) -> dict[str, Any]:
        n = max(self.conversations, 1)
        return {
            "conversations": self.conversations,
            "invalid": sum(self.invalid.values()),
            "invalid_reasons": dict(self.invalid),
            "sources": dict(self.sources.most_common()),
            "languages": dict(self.languages.most_common()),
            "licenses": dict(self.licenses.most_common()),
            "with_system": self.with_system,
            "turns_mean": round(self.turns / n, 3),
            "turns_max": self.max_turns,
            "user_chars_mean": round(self.user_chars / max(self.turns, 1), 1),
            "assistant_chars_mean": round(self.assistant_chars / max(self.turns, 1), 1),
        }


def file_stats(path: str | Path) -> FileStats:
    """Stream a conversation file; invalid lines are counted by reason, not fatal."""
    stats = FileStats()

    def invalid(reject: Reject) -> None:
        stats.invalid[reject.reason] += 1

    for conv in read_conversations(path, strict=False, on_reject=invalid):
        stats.conversations += 1
        stats.sources[conv.source or "unknown"] += 1
        stats.languages[conv.lang or "unknown"] += 1
        stats.licenses[conv.license or "unknown"] += 1
        users = conv.turns("user")
        stats.with_system += any(m.role == "system" for m in conv.messages)
        stats.turns += len(users)
        stats.max_turns = max(stats.max_turns, len(users))
        stats.user_chars += sum(len(m.content) for m in users)
        stats.assistant_chars += sum(len(m.content) for m in conv.turns("assistant"))
    return stats
