"""``file``: local conversations in any common layout, recognised record by record.

* OpenAI messages: ``{"messages": [{"role", "content"}, ...]}``, with or without our ``id``,
  ``source``, ``lang``, ``license`` and ``meta`` (so files written by other ru-llm stages load as
  they are); ``content`` may also be a list of ``{"type": "text", "text": ...}`` parts;
* ShareGPT: ``{"conversations": [{"from": "human"|"gpt"|"system", "value": ...}, ...]}``;
* Alpaca: ``{"instruction", "input", "output"}`` (``input`` optional, joined after a blank line).

A record already in the common schema (a non-null ``id`` and no key outside the schema) is read as
training reads it (:func:`ru_llm.core.validate.checked_conversation`): checked, never repaired, so it
gets the same verdict and reason in ``dataset load``, ``dataset build`` and a training run. Records in
the other layouts are converted, merging turns of one role in a row and trimming a trailing user turn
(:func:`~ru_llm.dataset.builders.common.normalize_turns`).

Licence, commercial use and language come from the options, because a local file declares none;
a record's own ``license``/``lang``/``source`` (our schema) win over them, so a translated Dolly file
keeps its CC-BY-SA-3.0 lineage, and a record's own ``commercial: false`` stamp stays false whatever the
options say (see :meth:`DatasetBuilder.load`). Ids are the record's own id, else ``file-<row index>``.
Other top-level keys go to ``meta``. A preference record (with ``chosen`` or ``rejected``) is rejected
with a hint to use the ``preference`` builder, rather than read as a conversation without its replies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ru_llm.core.conversation import COMMERCIAL_TYPE, Conversation
from ru_llm.core.errors import RecordError, RuLLMError
from ru_llm.core.validate import checked_conversation
from ru_llm.dataset.builders.base import DatasetBuilder
from ru_llm.dataset.builders.common import (
    NON_ALTERNATING,
    as_object,
    check_bool,
    check_choice,
    check_optional_str,
    index_id,
    json_type,
    message_list,
    normalize_turns,
    text_field,
)
from ru_llm.dataset.json_values import own_id
from ru_llm.dataset.preference import is_preference_record
from ru_llm.dataset.rows import Row

SHAREGPT_ROLES = {"chatgpt": "assistant", "bing": "assistant", "bard": "assistant", "user": "user"}
_OURS = ("id", "messages", "source", "lang", "license", "commercial", "meta")
_OURS_SET = frozenset(_OURS)


@dataclass(frozen=True)
class FileOptions:
    #: the data's licence (SPDX-style), for the dataset card and lineage
    license: str = "unknown"
    #: whether the licence allows commercial use; `--commercial` builds refuse sources without it
    commercial: bool = False
    #: the language of the conversations (a record's own "lang" wins)
    lang: str | None = None
    #: consecutive turns of one role: "merge" them, or "reject" the record
    non_alternating: str = "merge"

    def __post_init__(self) -> None:
        check_optional_str("license", self.license)
        if self.license is None:
            raise ValueError("option 'license' must be a string (use 'unknown' when it is not known)")
        check_bool("commercial", self.commercial)
        check_optional_str("lang", self.lang)
        check_choice("non_alternating", self.non_alternating, NON_ALTERNATING)


def _content(value: object, i: int) -> object:
    """Message content; OpenAI's list of text parts is joined, other parts are a rejection."""
    if not isinstance(value, list):
        return value
    texts = []
    for part in value:
        if not isinstance(part, Mapping) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            kind = part.get("type") if isinstance(part, Mapping) else json_type(part)
            raise RecordError(f"message {i} has a content part of type {kind!r}; only text parts are supported")
        texts.append(part["text"])
    return "".join(texts)


def _in_common_schema(record: Mapping[str, Any]) -> bool:
    """Whether ``record`` is written in our schema: an id, and only the schema's keys."""
    return record.get("id") is not None and not record.keys() - _OURS_SET


class FileBuilder(DatasetBuilder):
    name = "file"
    license = "unknown"
    commercial = False
    lang = None
    description = "Local JSONL/JSON/Parquet conversations: OpenAI messages, ShareGPT or Alpaca layout"
    aliases = ("local",)
    options_class = FileOptions

    def read_hub(self, options: Any) -> Iterator[Row]:
        raise RuLLMError("the 'file' builder reads local files only", hint="pass --source PATH (a file or directory)")

    def convert(self, row: Row, options: FileOptions) -> Iterator[Conversation]:
        record = as_object(row)
        if is_preference_record(record):  # else `messages` would be read and the replies put in meta
            raise RecordError(
                "a preference record (it has 'chosen'/'rejected'), not a conversation",
                hint="read preference files with the 'preference' builder",
            )
        if _in_common_schema(record):  # checked as training checks it; nothing to normalise, defaults to fill
            ready = checked_conversation(record)
            fields = {"source": ready.source or self.name, "lang": ready.lang or options.lang,
                      "license": ready.license or options.license}  # fmt: skip
            changed = any(getattr(ready, key) != value for key, value in fields.items())
            yield dataclasses.replace(ready, **fields) if changed else ready
            return
        if "messages" in record:
            layout, extra_keys = "openai", _OURS
            turns = [(role, _content(content, i)) for i, (role, content) in enumerate(message_list(record["messages"]))]
        elif "conversations" in record:
            layout, extra_keys = "sharegpt", ("id", "conversations")
            turns = self._sharegpt(record["conversations"])
        elif "instruction" in record and "output" in record:
            layout, extra_keys = "alpaca", ("id", "instruction", "input", "output")
            prompt = text_field(record, "instruction")
            extra = text_field(record, "input", required=False)
            if extra.strip():
                prompt = f"{prompt}\n\n{extra}"
            turns = [("user", prompt), ("assistant", text_field(record, "output"))]
        else:
            keys = ", ".join(map(repr, sorted(map(str, record)))) or "none"
            raise RecordError(
                f"unknown layout (keys: {keys}); expected 'messages' (OpenAI), 'conversations' (ShareGPT) "
                "or 'instruction'/'output' (Alpaca)"
            )
        messages, notes = normalize_turns(turns, non_alternating=options.non_alternating, roles=SHAREGPT_ROLES)
        meta: dict[str, Any] = {}
        if layout == "openai":
            raw_meta = record.get("meta")
            if raw_meta is not None and not isinstance(raw_meta, Mapping):
                raise RecordError(f"'meta' must be an object, got {json_type(raw_meta)}")
            meta.update(raw_meta or {})
        meta.update({key: value for key, value in record.items() if key not in extra_keys and key not in meta})
        meta.update(notes)
        if layout != "openai":
            meta["layout"] = layout
        fields = {}
        for key, default in (("source", self.name), ("lang", options.lang), ("license", options.license)):
            value = record.get(key) if layout == "openai" else None
            if value is not None and not isinstance(value, str):
                raise RecordError(f"{key!r} must be a string or null, got {json_type(value)}")
            fields[key] = value or default
        commercial = record.get("commercial") if layout == "openai" else None
        if commercial is not None and type(commercial) is not bool:
            raise RecordError(f"{COMMERCIAL_TYPE}, got {json_type(commercial)}")
        yield Conversation(
            id=own_id(record) or index_id(self.name, row),
            messages=tuple(messages),
            meta=meta,
            commercial=commercial,
            **fields,
        )

    @staticmethod
    def _sharegpt(value: object) -> list[tuple[object, object]]:
        if not isinstance(value, list):
            raise RecordError(f"'conversations' must be a list, got {json_type(value)}")
        turns = []
        for i, turn in enumerate(value):
            if not isinstance(turn, Mapping) or "from" not in turn or "value" not in turn:
                got = sorted(map(str, turn)) if isinstance(turn, Mapping) else json_type(turn)
                raise RecordError(f"turn {i} needs 'from' and 'value', got {got}")
            turns.append((turn["from"], turn["value"]))
        return turns
