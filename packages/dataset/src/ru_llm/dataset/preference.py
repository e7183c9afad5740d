"""Preference pairs: a conversation prefix ending on a user turn, a chosen and a rejected reply.

The common schema (one pair per JSONL line) is the conversation record plus two keys::

    {"id": "pref-0001", "messages": [{"role": "user", "content": "Как сварить гречку?"}],
     "chosen": "Промойте крупу, залейте водой 1:2 ...", "rejected": "Гречку не варят.",
     "source": "file", "lang": "ru", "license": "CC-BY-4.0", "commercial": true, "meta": {}}

:func:`preference_from_dict` also reads the layouts preference sets are published in:

* **common**: ``messages`` (the prompt) plus ``chosen`` / ``rejected``, each a string, an assistant
  message object, or a one-element list holding an assistant message;
* **TRL, explicit prompt**: ``prompt`` (a string, which becomes one user turn, or a message list) plus
  ``chosen`` / ``rejected`` as strings or lists of one assistant message (TRL's conversational form);
* **TRL, implicit prompt** and **UltraFeedback-binarized**: ``chosen`` and ``rejected`` are whole
  conversations that share everything but their final assistant turn; the shared part is the prompt.
  A ``prompt`` string there must be the conversations' first user turn (UltraFeedback carries one),
  and a ``messages`` field that repeats the chosen conversation (UltraFeedback again) is dropped.

Role aliases (``human``, ``gpt``, ...) are accepted and written canonically; a message object holds
``role`` and ``content`` only, and the prompt keeps the turn rules of every conversation
(:func:`ru_llm.core.validate.turn_problem`, ending on the user), with the same reasons as the
conversation reader. ``commercial`` is the licence stamp, as in a conversation. Other top-level keys
(``prompt_id``, ``score_chosen``, ...) go to ``meta``; ``meta["layout"]`` names a layout other than the
common one. A null optional key (``prompt``, ``messages``, ``id``, ``meta``, an extra key...) counts as
absent, as Arrow-backed readers (Parquet, ``datasets``) fill a column a row lacks with null; a null
``chosen`` or ``rejected`` is still a missing reply. A record that cannot be a pair raises
:class:`RecordError` with a short reason: a missing ``chosen`` or ``rejected``, an empty prompt or
reply, a prompt that breaks the turn rules, replies that are identical, wrong types.

Ids: the record's ``id`` (a non-empty string or an integer, as for a conversation; anything else is a
reject), else its ``prompt_id``, else the caller's ``default_id``, else a content hash ``pref-<16 hex>``
of the prompt and both replies (stable across runs and machines).

In the ``dataset build`` pipeline, which moves :class:`Conversation` records between stages, a pair
travels as its prompt conversation with the replies under ``meta["preference"]``
(:meth:`PreferencePair.to_conversation` / :meth:`PreferencePair.from_conversation`), and is written
back in the common schema.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ru_llm.core.conversation import COMMERCIAL_TYPE, ID_HINT, ID_TYPE, Conversation, Message, message_from_dict
from ru_llm.core.errors import RecordError
from ru_llm.core.jsonl import JsonlReader, Reject, read_jsonl
from ru_llm.core.validate import TURN_HINT, turn_problem
from ru_llm.dataset.json_values import json_type, own_id

#: the keys of the common preference schema, in the order they are written
FIELDS = ("id", "messages", "chosen", "rejected", "source", "lang", "license", "commercial", "meta")
#: where a pair's replies travel inside a carrier conversation (see :meth:`PreferencePair.to_conversation`)
PREFERENCE_KEY = "preference"
_REPLY_KEYS = ("chosen", "rejected")
# Keys that are the pair itself or its provenance; everything else goes to meta.
_PROMPT_HINT = f"{TURN_HINT}; a pair's prompt ends on the user's turn"
_OWN_KEYS = frozenset(
    ("id", "messages", "prompt", "chosen", "rejected", "source", "lang", "license", "commercial", "meta")
)


def prompt_problem(messages: tuple[Message, ...] | list[Message]) -> str | None:
    """Why ``messages`` cannot be the prompt of a pair, or ``None`` when they can.

    A prompt keeps the turn rules of a conversation (:func:`~ru_llm.core.validate.turn_problem`, with the
    same reasons) up to its final user turn: an optional system message, then user and assistant turns
    alternating, starting and ending with the user; no turn is empty.
    """
    if not messages:
        return "the prompt is empty"
    return turn_problem(messages, final="user")


@dataclass(frozen=True)
class PreferencePair:
    """A prompt (a :class:`Conversation` ending on a user turn) with a chosen and a rejected reply.

    The prompt carries the pair's id, source, language, licence and meta. Construction validates:
    a bad pair raises :class:`RecordError`.
    """

    prompt: Conversation
    chosen: str
    rejected: str

    def __post_init__(self) -> None:
        record_id = self.prompt.id if isinstance(self.prompt, Conversation) else None
        if not isinstance(self.prompt, Conversation):
            raise RecordError(f"the prompt must be a Conversation, not {type(self.prompt).__name__}")
        problem = prompt_problem(self.prompt.messages)
        if problem is not None:
            raise RecordError(problem, record_id=record_id, hint=_PROMPT_HINT)
        for key in _REPLY_KEYS:
            value = getattr(self, key)
            if not isinstance(value, str):
                raise RecordError(f"{key!r} must be a string, not {type(value).__name__}", record_id=record_id)
            if not value.strip():
                raise RecordError(f"{key!r} is empty", record_id=record_id)
        if self.chosen.strip() == self.rejected.strip():
            raise RecordError(
                "chosen and rejected are identical", record_id=record_id, hint="a pair needs two different replies"
            )

    # -- the prompt's provenance -----------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.prompt.id

    @property
    def messages(self) -> tuple[Message, ...]:
        return self.prompt.messages

    @property
    def source(self) -> str | None:
        return self.prompt.source

    @property
    def lang(self) -> str | None:
        return self.prompt.lang

    @property
    def license(self) -> str | None:
        return self.prompt.license

    @property
    def commercial(self) -> bool | None:
        """The licence stamp (see :class:`~ru_llm.core.conversation.Conversation`)."""
        return self.prompt.commercial

    @property
    def meta(self) -> dict[str, Any]:
        return self.prompt.meta

    # -- conversions -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The common preference schema (replies as strings; every key present but an unstamped ``commercial``)."""
        return _pair_dict(self.prompt, self.chosen, self.rejected, self.prompt.meta)

    def chosen_conversation(self) -> Conversation:
        """The prompt followed by the chosen reply (for SFT on the chosen side, rendering, stats)."""
        return _with_reply(self.prompt, self.chosen)

    def rejected_conversation(self) -> Conversation:
        """The prompt followed by the rejected reply."""
        return _with_reply(self.prompt, self.rejected)

    def to_conversation(self) -> Conversation:
        """A carrier for pipelines of conversations: the prompt, with the replies in ``meta["preference"]``."""
        meta = {**self.prompt.meta, PREFERENCE_KEY: {"chosen": self.chosen, "rejected": self.rejected}}
        return dataclasses.replace(self.prompt, meta=meta)

    @classmethod
    def from_conversation(cls, conv: Conversation) -> PreferencePair:
        """The pair a :meth:`to_conversation` carrier holds (a :class:`RecordError` if it holds none)."""
        replies = conv.meta.get(PREFERENCE_KEY)
        if not isinstance(replies, Mapping):
            raise RecordError(f"meta[{PREFERENCE_KEY!r}] is missing: not a preference pair", record_id=conv.id)
        meta = {key: value for key, value in conv.meta.items() if key != PREFERENCE_KEY}
        return cls(dataclasses.replace(conv, meta=meta), replies.get("chosen"), replies.get("rejected"))  # type: ignore[arg-type]


def is_carrier(conv: Conversation) -> bool:
    """Whether ``conv`` carries a preference pair (see :meth:`PreferencePair.to_conversation`)."""
    return PREFERENCE_KEY in conv.meta


def carrier_to_dict(conv: Conversation) -> dict[str, Any]:
    """A carrier in the common preference schema, without validating it (for writing and rejects files).

    A conversation that carries no pair comes back as its own :meth:`Conversation.to_dict`.
    """
    replies = conv.meta.get(PREFERENCE_KEY)
    if not isinstance(replies, Mapping):
        return conv.to_dict()
    meta = {key: value for key, value in conv.meta.items() if key != PREFERENCE_KEY}
    return _pair_dict(conv, replies.get("chosen"), replies.get("rejected"), meta)


def _pair_dict(prompt: Conversation, chosen: object, rejected: object, meta: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": prompt.id,
        "messages": [m.to_dict() for m in prompt.messages],
        "chosen": chosen,
        "rejected": rejected,
        "source": prompt.source,
        "lang": prompt.lang,
        "license": prompt.license,
    }
    if prompt.commercial is not None:
        data["commercial"] = prompt.commercial
    data["meta"] = dict(meta)
    return data


def carrier_problem(conv: Conversation) -> str | None:
    """Why a carrier does not hold a valid pair (the reason a build rejects it with), or ``None``."""
    try:
        PreferencePair.from_conversation(conv)
    except RecordError as e:
        return e.reason
    return None


def filter_view(conv: Conversation) -> Conversation:
    """What per-record filters look at for a carrier: the prompt followed by both replies as assistant
    turns, so ``min_chars`` applies to each reply, ``max_chars`` to the whole pair, and ``max_turns``,
    ``languages`` and ``drop_flags`` to the prompt and its provenance."""
    replies = conv.meta.get(PREFERENCE_KEY)
    if not isinstance(replies, Mapping):
        return conv
    texts = [replies.get(key) for key in _REPLY_KEYS]
    extra = tuple(Message("assistant", text) for text in texts if isinstance(text, str))
    return dataclasses.replace(conv, messages=(*conv.messages, *extra))


def prompt_key(messages: tuple[Message, ...] | list[Message]) -> str:
    """A stable digest of a prompt (roles and stripped texts): pairs with one key share a prompt."""
    payload = json.dumps([[m.role, m.content.strip()] for m in messages], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(payload.encode("utf-8", "surrogatepass")).hexdigest()


def _with_reply(prompt: Conversation, reply: str) -> Conversation:
    return dataclasses.replace(prompt, messages=(*prompt.messages, Message("assistant", reply)), meta=dict(prompt.meta))


def is_preference_record(data: object) -> bool:
    """Whether a decoded record is meant as a preference pair: it has a ``chosen`` or ``rejected`` key.

    One of the two is enough, so a pair that lost a reply is reported as a broken pair, not read as a
    conversation.
    """
    return isinstance(data, Mapping) and ("chosen" in data or "rejected" in data)


def is_preference_file(path: str | os.PathLike[str]) -> bool:
    """Whether the first record of a JSONL file is a preference record (bad lines are skipped)."""
    reader = read_jsonl(path, strict=False, on_reject=lambda _reject: None)
    for record in reader:
        return is_preference_record(record)
    return False


# -- reading the layouts ------------------------------------------------------------------------
def _columns(value: Mapping[str, Any]) -> list[Any] | None:
    """Messages stored the way ``datasets`` returns a sequence of structs: ``{"role": [...], "content": [...]}``."""
    roles, contents = value.get("role"), value.get("content")
    if isinstance(roles, list) and isinstance(contents, list) and len(roles) == len(contents):
        return [{"role": r, "content": c} for r, c in zip(roles, contents, strict=True)]
    return None


def _messages(value: object, key: str) -> list[Message]:
    if isinstance(value, Mapping) and (columns := _columns(value)) is not None:
        value = columns
    if not isinstance(value, list):
        raise RecordError(f"{key!r} must be a list of messages, got {json_type(value)}")
    # `messages` is named as the conversation reader names it, so one bad message has one reason
    where = "message {}" if key == "messages" else f"{key!r} message {{}}"
    return [message_from_dict(item, where.format(i)) for i, item in enumerate(value)]


def _side(record: Mapping[str, Any], key: str) -> str | list[Message]:
    """A reply field as its text (a reply) or its messages (a whole conversation)."""
    if record.get(key) is None:
        raise RecordError(f"missing {key!r}", hint="a preference record has both 'chosen' and 'rejected'")
    value = record[key]
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        value = _columns(value) or [value]
    if not isinstance(value, list):
        raise RecordError(f"{key!r} must be a string, a message or a list of messages, got {json_type(value)}")
    if not value:
        raise RecordError(f"{key!r} is empty")
    messages = _messages(value, key)
    if all(m.role == "assistant" for m in messages):
        if len(messages) > 1:
            raise RecordError(f"{key!r} holds {len(messages)} assistant messages; a reply is one message")
        return messages[0].content
    return messages


def _prompt(value: object) -> list[Message]:
    if isinstance(value, str):
        if not value.strip():
            raise RecordError("the prompt is empty")
        return [Message("user", value)]
    return _messages(value, "prompt")


def _split(conv: list[Message], key: str) -> tuple[list[Message], str]:
    """A whole conversation as (prompt, final assistant reply)."""
    if conv[-1].role != "assistant":
        raise RecordError(f"{key!r} does not end on an assistant turn")
    return conv[:-1], conv[-1].content


def _same(a: list[Message], b: list[Message]) -> bool:
    return len(a) == len(b) and all(x.role == y.role and x.content == y.content for x, y in zip(a, b, strict=True))


def _first_user(messages: list[Message]) -> str | None:
    return next((m.content for m in messages if m.role == "user"), None)


def _text(record: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = record.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise RecordError(f"{key!r} must be a string or null, got {json_type(value)}")
    return value or default


def content_id(prompt: list[Message] | tuple[Message, ...], chosen: str, rejected: str) -> str:
    """A stable id from the pair's text: ``pref-`` and 16 hex digits of a SHA-1."""
    payload = json.dumps(
        [[[m.role, m.content] for m in prompt], chosen, rejected], ensure_ascii=False, separators=(",", ":")
    )
    return "pref-" + hashlib.sha1(payload.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def preference_from_dict(
    data: object,
    *,
    location: str | None = None,
    default_id: str | None = None,
    source: str | None = None,
    lang: str | None = None,
    license: str | None = None,
) -> PreferencePair:
    """A :class:`PreferencePair` from a record in any accepted layout (see the module docstring).

    :param location: ``file:line`` for error messages.
    :param default_id: the id when the record has neither ``id`` nor ``prompt_id``.
    :param source, lang, license: defaults for records that do not carry their own.
    :raises RecordError: the record cannot be a pair; ``reason`` says why.
    """
    if not isinstance(data, Mapping):
        raise RecordError(f"expected a JSON object, got {json_type(data)}", location=location)
    # Arrow (Parquet, ``datasets``) fills a column a row lacks with null: a null optional key is absent.
    # A null reply stays, and is rejected as missing.
    data = {key: value for key, value in data.items() if value is not None or key in _REPLY_KEYS}
    if "id" in data and own_id(data, "id") is None:  # as the conversation reader: a wrong id is no id
        raise RecordError(ID_TYPE, location=location, hint=ID_HINT)
    record_id = own_id(data, "id") or own_id(data, "prompt_id") or default_id
    try:
        return _from_dict(data, record_id, source=source, lang=lang, license=license)
    except RecordError as e:
        raise RecordError(e.reason, record_id=e.record_id or record_id, location=location, hint=e.hint) from None


def _from_dict(
    data: Mapping[str, Any], record_id: str | None, *, source: str | None, lang: str | None, license: str | None
) -> PreferencePair:
    chosen_side, rejected_side = _side(data, "chosen"), _side(data, "rejected")
    extra: dict[str, Any] = {}
    explicit: list[Message] | None = None
    from_string = False
    whole = isinstance(chosen_side, list) or isinstance(rejected_side, list)
    if "prompt" in data:
        explicit = _prompt(data["prompt"])
        from_string = isinstance(data["prompt"], str)
        layout = "trl-implicit" if whole else "trl"
        if "messages" in data and data["messages"] != data.get("chosen"):  # UltraFeedback repeats `chosen`
            extra["messages"] = data["messages"]
    elif "messages" in data:
        explicit = _messages(data["messages"], "messages")
        layout = "common"
        if whole and isinstance(chosen_side, list) and _same(explicit, chosen_side):
            explicit = None  # UltraFeedback: `messages` repeats the chosen conversation
            layout = "trl-implicit"
    elif whole:
        layout = "trl-implicit"
    else:
        raise RecordError("missing prompt: neither 'messages' nor 'prompt'", hint="add the conversation so far")

    replies: dict[str, str] = {}
    heads: dict[str, list[Message]] = {}
    for key, side in (("chosen", chosen_side), ("rejected", rejected_side)):
        if isinstance(side, str):
            if explicit is None:
                raise RecordError(f"{key!r} is a reply but the record has no prompt")
            heads[key], replies[key] = explicit, side
            continue
        head, replies[key] = _split(side, key)
        if explicit is not None and not _same(head, explicit):
            first = _first_user(head)
            # a prompt string may name just the first user turn of a longer shared prefix (UltraFeedback)
            if not (from_string and first is not None and first.strip() == explicit[0].content.strip()):
                raise RecordError(f"{key!r} does not continue the prompt")
        heads[key] = head
    if not _same(heads["chosen"], heads["rejected"]):
        raise RecordError("chosen and rejected do not share the prompt")
    prompt = heads["chosen"]
    if not prompt:
        raise RecordError("the prompt is empty")

    meta_value = data.get("meta")
    if meta_value is not None and not isinstance(meta_value, Mapping):
        raise RecordError(f"'meta' must be an object, got {json_type(meta_value)}")
    meta: dict[str, Any] = dict(meta_value or {})
    for key, value in data.items():
        if key not in _OWN_KEYS and key not in meta:
            meta[key] = value
    for key, value in extra.items():
        meta.setdefault(key, value)
    if layout != "common":
        meta.setdefault("layout", layout)
    commercial = data.get("commercial")
    if commercial is not None and type(commercial) is not bool:
        raise RecordError(f"{COMMERCIAL_TYPE}, got {json_type(commercial)}")
    fields = {
        "source": _text(data, "source", source),
        "lang": _text(data, "lang", lang),
        "license": _text(data, "license", license),
        "commercial": commercial,
    }
    chosen, rejected = replies["chosen"], replies["rejected"]
    problem = prompt_problem(prompt)
    if problem is not None:
        raise RecordError(problem, hint=_PROMPT_HINT)
    final_id = record_id or content_id(prompt, chosen, rejected)
    conv = Conversation(id=final_id, messages=tuple(prompt), meta=meta, **fields)
    try:
        return PreferencePair(conv, chosen, rejected)
    except RecordError as e:
        raise RecordError(e.reason, record_id=final_id, hint=e.hint) from None


def read_preferences(
    path: str | os.PathLike[str],
    *,
    on_reject: Callable[[Reject], object] | None = None,
    strict: bool | None = None,
    source: str | None = None,
    lang: str | None = None,
    license: str | None = None,
) -> JsonlReader[PreferencePair]:
    """The preference pairs of a JSONL file in any accepted layout.

    Like :func:`ru_llm.core.jsonl.read_conversations`: a bad line raises :class:`RecordError` with its
    ``file:line`` when strict, else goes to ``on_reject`` as a :class:`Reject` with its reason. Strict
    is the default when no ``on_reject`` is given. Records without an id get a content hash id.
    """

    def parse(obj: object, *, location: str | None = None) -> PreferencePair:
        return preference_from_dict(obj, location=location, source=source, lang=lang, license=license)

    return JsonlReader(path, parse, strict=on_reject is None if strict is None else strict, on_reject=on_reject)


__all__ = [
    "FIELDS",
    "PREFERENCE_KEY",
    "PreferencePair",
    "carrier_problem",
    "carrier_to_dict",
    "content_id",
    "filter_view",
    "is_carrier",
    "is_preference_file",
    "is_preference_record",
    "preference_from_dict",
    "prompt_key",
    "prompt_problem",
    "read_preferences",
]
