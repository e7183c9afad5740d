"""The conversation record every stage reads and writes (OpenAI-messages compatible).

One conversation per JSONL line::

    {"id": "dolly-00042", "messages": [{"role": "user", "content": "…"},
     {"role": "assistant", "content": "…"}], "source": "dolly", "lang": "ru",
     "license": "CC-BY-SA-3.0", "meta": {"category": "open_qa"}}

Role aliases are accepted on input and written canonically. Structural problems raise
:class:`RecordError` naming the record id and, when known, the ``file:line`` it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ru_llm.core.errors import RecordError

ROLES = ("system", "user", "assistant")
ROLE_ALIASES = {
    "bot": "assistant",
    "gpt": "assistant",
    "model": "assistant",
    "human": "user",
    "prompter": "user",
}
_ROLE_HINT = f"use one of {', '.join(ROLES)} (aliases: {', '.join(sorted(ROLE_ALIASES))})"
_FIELDS = frozenset(("id", "messages", "source", "lang", "license", "meta"))
_CANONICAL = frozenset(ROLES)
_OPTIONAL_TEXT_FIELDS = ("source", "lang", "license")


def canonical_role(role: object) -> str | None:
    """The canonical role for a role or alias (any case), or ``None`` if it is not one."""
    if not isinstance(role, str):
        return None
    if role in _CANONICAL:  # the common case, without string work
        return role
    key = role.strip().lower()
    if key in ROLES:
        return key
    return ROLE_ALIASES.get(key)


@dataclass(frozen=True, slots=True)
class Message:
    """One turn: a canonical role and its text."""

    role: str
    content: str

    def __post_init__(self) -> None:
        if type(self.role) is not str or self.role not in _CANONICAL:  # fast path: already canonical
            role = canonical_role(self.role)
            if role is None:
                raise RecordError(f"unknown role {self.role!r}", hint=_ROLE_HINT)
            object.__setattr__(self, "role", role)
        if not isinstance(self.content, str):
            raise RecordError(f"message content must be a string, not {type(self.content).__name__}")

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class Conversation:
    """A dialogue with its provenance: where it came from, its language and licence."""

    id: str
    messages: tuple[Message, ...]
    source: str | None = None
    lang: str | None = None
    license: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise RecordError("'id' must be a non-empty string", hint="give every record a unique id")
        if type(self.messages) is not tuple:
            object.__setattr__(self, "messages", tuple(self.messages))
        if not self.messages:
            raise RecordError("'messages' is empty", record_id=self.id)
        if not all(isinstance(m, Message) for m in self.messages):
            bad = next(i for i, m in enumerate(self.messages) if not isinstance(m, Message))
            raise RecordError(f"message {bad} is not a Message", record_id=self.id)

    @classmethod
    def from_dict(cls, data: object, *, location: str | None = None) -> Conversation:
        """Validate a decoded JSON record; aliases are made canonical.

        :param location: ``file:line`` to put in error messages.
        """
        if not isinstance(data, Mapping):
            raise RecordError(f"expected a JSON object, got {_json_type(data)}", location=location)
        raw_id = data.get("id")
        record_id = str(raw_id) if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else None
        if record_id is not None and not record_id.strip():
            record_id = None

        def fail(reason: str, hint: str | None = None) -> RecordError:
            return RecordError(reason, record_id=record_id, location=location, hint=hint)

        if not record_id:
            raise fail("'id' must be a non-empty string or an integer", "give every record a unique id")
        unknown = [key for key in data if key not in _FIELDS] if data.keys() - _FIELDS else []
        if unknown:
            raise fail(f"unknown key {unknown[0]!r}", "put extra fields under 'meta'")
        messages = data.get("messages")
        if not isinstance(messages, list):
            raise fail(f"'messages' must be a list, got {_json_type(messages)}")
        if not messages:
            raise fail("'messages' is empty")
        parsed = []
        for i, message in enumerate(messages):
            if not isinstance(message, Mapping):
                raise fail(f"message {i} must be an object, got {_json_type(message)}")
            extra = [key for key in message if key not in ("role", "content")] if len(message) > 2 else []
            if extra:
                raise fail(f"message {i} has unknown key {extra[0]!r}", "a message has only role and content")
            role = canonical_role(message.get("role"))
            if role is None:
                raise fail(f"message {i} has unknown role {message.get('role')!r}", _ROLE_HINT)
            content = message.get("content")
            if not isinstance(content, str):
                raise fail(f"message {i} content must be a string, got {_json_type(content)}")
            parsed.append(Message(role, content))
        for key in _OPTIONAL_TEXT_FIELDS:
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                raise fail(f"{key!r} must be a string or null, got {_json_type(value)}")
        meta = data.get("meta")
        if meta is None:
            meta = {}
        elif not isinstance(meta, Mapping):
            raise fail(f"'meta' must be an object, got {_json_type(meta)}")
        return cls(
            id=record_id,
            messages=tuple(parsed),
            source=data.get("source"),
            lang=data.get("lang"),
            license=data.get("license"),
            meta=dict(meta),
        )

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-ready form (every key present, roles canonical)."""
        return {
            "id": self.id,
            "messages": [m.to_dict() for m in self.messages],
            "source": self.source,
            "lang": self.lang,
            "license": self.license,
            "meta": dict(self.meta),
        }

    def turns(self, role: str) -> list[Message]:
        """The messages of one role (``user``, ``assistant``, ``system`` or an alias such as ``bot``)."""
        canonical = canonical_role(role)
        return [m for m in self.messages if m.role == canonical]


def conversation(id: str, turns: Iterable[tuple[str, str]], **fields: Any) -> Conversation:
    """Shorthand: ``conversation("x", [("user", "Привет"), ("assistant", "Здравствуйте")], lang="ru")``."""
    return Conversation(id=id, messages=tuple(Message(r, c) for r, c in turns), **fields)


def _json_type(value: object) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        int: "number",
        float: "number",
        bool: "boolean",
        type(None): "null",
    }.get(type(value), type(value).__name__)
