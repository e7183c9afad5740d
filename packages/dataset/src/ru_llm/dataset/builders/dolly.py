"""databricks-dolly-15k: one instruction, an optional context passage, one human-written response."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ru_llm.core.conversation import Conversation, Message
from ru_llm.core.errors import RecordError
from ru_llm.dataset.builders.base import DatasetBuilder
from ru_llm.dataset.builders.common import as_object, check_bool, check_choice, index_id, text_field
from ru_llm.dataset.rows import Row

CONTEXT_PLACES = ("before", "after", "both")
# Wikipedia reference marks copied with the text: "[12]", "[3, 4]", "[5–7]"; the space before them goes too.
_CITATION = re.compile(r"[ \t]*\[\d+(?:\s*[,\u2013-]\s*\d+)*\]")


def strip_citations(text: str) -> str:
    """Remove Wikipedia citation markers such as ``[12]`` from ``text``."""
    return _CITATION.sub("", text)


@dataclass(frozen=True)
class DollyOptions:
    #: where the context passage goes relative to the instruction; "both" makes two records, one each way
    context: str = "after"
    #: remove Wikipedia citation markers like "[12]" from the instruction, context and response
    strip_citations: bool = True
    #: keep Dolly's category (open_qa, closed_qa, summarization, ...) in meta["category"]
    keep_category: bool = True

    def __post_init__(self) -> None:
        check_choice("context", self.context, CONTEXT_PLACES)
        check_bool("strip_citations", self.strip_citations)
        check_bool("keep_category", self.keep_category)


class DollyBuilder(DatasetBuilder):
    name = "dolly"
    hub_id = "databricks/databricks-dolly-15k"
    license = "CC-BY-SA-3.0"
    commercial = True
    lang = "en"
    description = "Databricks Dolly 15k: human-written instructions and responses (the paper's first source)"
    aliases = ("databricks-dolly-15k",)
    options_class = DollyOptions

    def convert(self, row: Row, options: DollyOptions) -> Iterator[Conversation]:
        record = as_object(row)
        instruction = text_field(record, "instruction")
        response = text_field(record, "response")
        context = text_field(record, "context", required=False)
        category = record.get("category")
        if category is not None and not isinstance(category, str):
            raise RecordError("field 'category' must be a string")
        if options.strip_citations:
            instruction, context, response = map(strip_citations, (instruction, context, response))
            if not response.strip():
                raise RecordError("field 'response' is empty once citation markers are removed")
        meta = {"category": category} if options.keep_category and category else {}
        base_id = index_id(self.name, row)
        if not context.strip():
            yield self._conversation(base_id, instruction, response, meta)
            return
        places = ("before", "after") if options.context == "both" else (options.context,)
        for place in places:
            prompt = f"{context}\n\n{instruction}" if place == "before" else f"{instruction}\n\n{context}"
            record_id = f"{base_id}-ctx-{place}" if options.context == "both" else base_id
            yield self._conversation(record_id, prompt, response, {**meta, "context": place})

    def _conversation(self, record_id: str, prompt: str, response: str, meta: dict) -> Conversation:
        return Conversation(
            id=record_id,
            messages=(Message("user", prompt), Message("assistant", response)),
            source=self.name,
            lang=self.lang,
            license=self.license,
            meta=meta,
        )
