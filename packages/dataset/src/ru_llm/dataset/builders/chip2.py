"""chip2: Rallio's instruction set from LAION's OIG effort, in its two published layouts.

* chip2-instruct-alpha-v6a: a JSON array of strings ``"User: …\\n\\nChip2: …<|endoftext|>"``;
* ``unified_chip2.jsonl`` of laion/OIG: ``{"text": "<human>: …\\n<bot>: …", "metadata": {...}}``.

The layout is recognised per record by its turn markers; several marker pairs make a multi-turn
conversation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ru_llm.core.conversation import Conversation
from ru_llm.core.errors import RecordError
from ru_llm.dataset.builders.base import DatasetBuilder
from ru_llm.dataset.builders.common import NON_ALTERNATING, check_choice, index_id, json_type, normalize_turns
from ru_llm.dataset.rows import Row

_END = "<|endoftext|>"
# A marker starts the text or a line; the v6a strings separate turns with a blank line.
_UNIFIED = re.compile(r"(?:^|\n)[ \t]*<(human|bot)>:[ \t]?")
_V6A = re.compile(r"(?:^|\n)[ \t]*(User|Chip2):[ \t]?")
_ROLES = {"human": "user", "bot": "assistant", "user": "user", "chip2": "assistant"}


def split_turns(text: str) -> tuple[list[tuple[str, str]], str]:
    """``(role, text)`` turns of a chip2 string and the layout's name; a rejection if it has no markers."""
    text = text.replace(_END, "")
    for pattern, layout in ((_UNIFIED, "unified_chip2"), (_V6A, "chip2-instruct-alpha-v6a")):
        parts = pattern.split(text)
        if len(parts) < 3:
            continue
        if parts[0].strip():
            raise RecordError(f"text before the first turn marker: {parts[0].strip()[:40]!r}")
        turns = [(_ROLES[parts[i].lower()], parts[i + 1].strip()) for i in range(1, len(parts), 2)]
        return turns, layout
    raise RecordError("no turn markers ('<human>:'/'<bot>:' or 'User:'/'Chip2:') in the text")


@dataclass(frozen=True)
class Chip2Options:
    #: consecutive turns of one role: "merge" them, or "reject" the record
    non_alternating: str = "merge"

    def __post_init__(self) -> None:
        check_choice("non_alternating", self.non_alternating, NON_ALTERNATING)


class Chip2Builder(DatasetBuilder):
    name = "chip2"
    hub_id = "laion/OIG"
    hub_data_files = "unified_chip2.jsonl"
    license = "Apache-2.0"
    commercial = True
    lang = "en"
    description = "OIG chip2 (Rallio / LAION): instruction and dialogue pairs; unified_chip2 or instruct-alpha-v6a"
    aliases = ("unified_chip2", "chip2-instruct-alpha-v6a")
    options_class = Chip2Options

    def convert(self, row: Row, options: Chip2Options) -> Iterator[Conversation]:
        record = row.record
        meta: dict = {}
        if isinstance(record, Mapping):
            text = record.get("text")
            if not isinstance(text, str):
                raise RecordError(f"field 'text' must be a string, got {json_type(text)}")
            metadata = record.get("metadata")
            if isinstance(metadata, Mapping) and isinstance(metadata.get("source"), str):
                meta["origin"] = metadata["source"]
        elif isinstance(record, str):
            text = record
        else:
            raise RecordError(f"expected a string or an object with 'text', got {json_type(record)}")
        turns, layout = split_turns(text)
        messages, notes = normalize_turns(turns, non_alternating=options.non_alternating)
        yield Conversation(
            id=index_id(self.name, row),
            messages=tuple(messages),
            source=self.name,
            lang=self.lang,
            license=self.license,
            meta={"layout": layout, **meta, **notes},
        )
