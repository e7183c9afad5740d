"""The conversation record every stage reads and writes (OpenAI-messages compatible).

One conversation per JSONL line::

    {"id": "dolly-00042", "messages": [{"role": "user", "content": "…"},
     {"role": "assistant", "content": "…"}], "source": "dolly", "lang": "ru",
     "license": "CC-BY-SA-3.0", "commercial": true, "meta": {"category": "open_qa"}}

Role aliases are accepted on input and written canonically. Structural problems raise
:class:`RecordError` naming the record id and, when known, the ``file:line`` it came from (the turn
rules themselves, shared by every stage, are :mod:`ru_llm.core.validate`'s).

``commercial`` is the licence stamp: ``true`` when the dataset builder that made the record knew its
source to be cleared for commercial use, ``false`` when it knew it is not. A record without the key
(a file written before stamps existed, or by hand) is unstamped (``None``) and written without it.
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
_FIELDS = frozenset(("id", "messages", "source", "lang", "license", "commercial", "meta"))
_CANONICAL = frozenset(ROLES)
_OPTIONAL_TEXT_FIELDS = ("source", "lang", "license")
COMMERCIAL_TYPE = "'commercial' must be true, false or null"
ID_TYPE = "'id' must be a non-empty string or an integer"
ID_HINT = "give every record a unique id"


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
    """A dialogue with its provenance: where it came from, its language, licence and licence stamp."""

    id: str
    messages: tuple[Message, ...]
    source: str | None = None
    lang: str | None = None
    license: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False)
    #: cleared for commercial use (``True``), known not to be (``False``), or unstamped (``None``)
    commercial: bool | None = None

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
        if self.commercial is not None and type(self.commercial) is not bool:
            raise RecordError(f"{COMMERCIAL_TYPE}, got {self.commercial!r}", record_id=self.id)

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
            raise fail(ID_TYPE, ID_HINT)
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
            try:
                parsed.append(message_from_dict(message, f"message {i}"))
            except RecordError as e:
                raise fail(e.reason, e.hint) from None
        for key in _OPTIONAL_TEXT_FIELDS:
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                raise fail(f"{key!r} must be a string or null, got {_json_type(value)}")
        commercial = data.get("commercial")
        if commercial is not None and type(commercial) is not bool:
            raise fail(f"{COMMERCIAL_TYPE}, got {_json_type(commercial)}")
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
            commercial=commercial,
        )

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-ready form (roles canonical; every key present but an unstamped ``commercial``)."""
        data: dict[str, Any] = {
            "id": self.id,
            "messages": [m.to_dict() for m in self.messages],
            "source": self.source,
            "lang": self.lang,
            "license": self.license,
        }
        if self.commercial is not None:
            data["commercial"] = self.commercial
        data["meta"] = dict(self.meta)
        return data

    def turns(self, role: str) -> list[Message]:
        """The messages of one role (``user``, ``assistant``, ``system`` or an alias such as ``bot``)."""
        canonical = canonical_role(role)
        return [m for m in self.messages if m.role == canonical]


def message_from_dict(value: object, where: str) -> Message:
    """One ``{"role", "content"}`` object, read strictly (no other key; a known role; string content).

    :param where: how the reason names the message (``"message 2"``, ``"'chosen' message 0"``).
    :raises RecordError: with the reason (and a hint), without record id or location.
    """
    if not isinstance(value, Mapping):
        raise RecordError(f"{where} must be an object, got {_json_type(value)}")
    if len(value) > 2 and (extra := [key for key in value if key not in ("role", "content")]):
        raise RecordError(f"{where} has unknown key {extra[0]!r}", hint="a message has only role and content")
    role = canonical_role(value.get("role"))
    if role is None:
        raise RecordError(f"{where} has unknown role {value.get('role')!r}", hint=_ROLE_HINT)
    content = value.get("content")
    if not isinstance(content, str):
        raise RecordError(f"{where} content must be a string, got {_json_type(content)}")
    return Message(role, content)


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
