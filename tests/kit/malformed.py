"""Records broken one way each, with the one reason every stage must give (ru_llm.core.validate's rules).

Conversations and preference pairs in the common schema, two good ones first. ``*_REASONS`` maps a
record's 1-based line in the written file to its reason; the lines not in it are the records to keep.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _m(role: str, content: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **extra}


Q, A = "Как сварить гречку?", "Промойте крупу и варите её двадцать минут."
Q2, A2 = "Сколько будет два плюс два?", "Четыре."
_PROVENANCE = {"source": "handmade", "lang": "ru", "license": "CC0-1.0"}

CONVERSATIONS: list[dict[str, Any]] = [
    {"id": "ok-1", "messages": [_m("user", Q), _m("assistant", A)]},
    {"id": "ok-2", "messages": [_m("system", "Отвечай кратко."), _m("user", Q2), _m("assistant", A2)]},
    {"id": "assistant-first", "messages": [_m("assistant", A), _m("user", Q), _m("assistant", A)]},
    {"id": "same-role-twice", "messages": [_m("user", Q), _m("user", Q2), _m("assistant", A)]},
    {"id": "system-in-middle", "messages": [_m("user", Q), _m("system", "Будь вежлив."), _m("assistant", A)]},
    {"id": "ends-on-user", "messages": [_m("user", Q), _m("assistant", A), _m("user", Q2)]},
    {"id": "empty-message", "messages": [_m("user", Q), _m("assistant", "  ")]},
    {"id": ["wrong", "type"], "messages": [_m("user", Q), _m("assistant", A)]},
    {"id": "unknown-key", "messages": [_m("user", Q), _m("assistant", A, name="bot")]},
]
CONVERSATION_REASONS = {
    3: "the first turn is the assistant's (message 0)",
    4: "two user turns in a row (messages 0 and 1)",
    5: "system message after the conversation started (message 1)",
    6: "does not end with an assistant reply",
    7: "empty assistant message (message 1)",
    8: "'id' must be a non-empty string or an integer",
    9: "message 1 has unknown key 'name'",
}

PAIRS: list[dict[str, Any]] = [
    {"id": "ok-1", "messages": [_m("user", Q)], "chosen": A, "rejected": "Не знаю."},
    {"id": "ok-2", "messages": [_m("system", "Кратко."), _m("user", Q2)], "chosen": A2, "rejected": "Пять."},
    {"id": "assistant-first", "messages": [_m("assistant", A), _m("user", Q)], "chosen": A, "rejected": "Нет."},
    {"id": "same-role-twice", "messages": [_m("user", Q), _m("user", Q2)], "chosen": A, "rejected": "Нет."},
    {
        "id": "system-in-middle",
        "messages": [_m("user", Q), _m("system", "Вежливо."), _m("user", Q2)],
        "chosen": A2,
        "rejected": "Нет.",
    },
    {"id": "ends-on-assistant", "messages": [_m("user", Q), _m("assistant", A)], "chosen": A, "rejected": "Нет."},
    {"id": "empty-message", "messages": [_m("user", " ")], "chosen": A, "rejected": "Нет."},
    {"id": {"not": "an id"}, "messages": [_m("user", Q)], "chosen": A, "rejected": "Нет."},
    {
        "id": "unknown-key-in-reply",
        "messages": [_m("user", Q)],
        "chosen": _m("assistant", A, name="gpt"),
        "rejected": "Нет.",
    },
]
PAIR_REASONS = {
    3: "the first turn is the assistant's (message 0)",
    4: "two user turns in a row (messages 0 and 1)",
    5: "system message after the conversation started (message 1)",
    6: "prompt ends on an assistant turn",
    7: "empty user message (message 0)",
    8: "'id' must be a non-empty string or an integer",
    9: "'chosen' message 0 has unknown key 'name'",
}


def write_malformed(path: Path, kind: str = "conversation", **provenance: Any) -> Path:
    """The conversation (or, with ``kind="preference"``, pair) records above as JSONL, with provenance."""
    records = CONVERSATIONS if kind == "conversation" else PAIRS
    fields = {**_PROVENANCE, **provenance}
    path.write_text("".join(json.dumps({**r, **fields}, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def reasons_by_line(rejects: list[Any]) -> dict[int, str]:
    """``{line: reason}`` of Reject objects or rejects-file dicts."""
    pairs = [(r["line"], r["reason"]) if isinstance(r, dict) else (r.line, r.reason) for r in rejects]
    return dict(sorted(pairs))
