"""The Saiga training sets (IlyaGusev/rulm): Russian, CC BY 4.0, generated with OpenAI models.

The authors' card allows research use; because the texts come from OpenAI models they are marked
not cleared for commercial use (``commercial = False``), which ``--commercial`` builds refuse.
Instruction-style sets join the input to the instruction the way Saiga did (``"\\nДано: "``).
Message sets are stored on the hub as ``{"role": [...], "content": [...]}`` and in JSONL exports as
a list of ``{"role", "content"}``; both are read. Saiga's ``bot`` role is the assistant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ru_llm.core.conversation import Conversation, Message
from ru_llm.core.errors import RecordError
from ru_llm.dataset.builders.base import DatasetBuilder
from ru_llm.dataset.builders.common import (
    NON_ALTERNATING,
    as_object,
    check_choice,
    index_id,
    json_type,
    message_list,
    normalize_turns,
    text_field,
)
from ru_llm.dataset.json_values import own_id
from ru_llm.dataset.rows import Row

INPUT_PREFIX = "\nДано: "


class SaigaBuilder(DatasetBuilder):
    """Shared declarations of the Saiga sets."""

    license = "CC-BY-4.0"
    commercial = False
    lang = "ru"
    #: scalar fields copied into meta when present
    meta_fields: ClassVar[tuple[str, ...]] = ()

    def _meta(self, record: Mapping[str, Any]) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        source_id = own_id(record)
        if source_id is not None:
            meta["source_id"] = source_id
        for key in self.meta_fields:
            value = record.get(key)
            if isinstance(value, (str, int, float, bool)) and value != "":
                meta[key] = value
        return meta

    def _conversation(self, record_id: str, messages: list[Message], meta: dict[str, Any]) -> Conversation:
        return Conversation(
            id=record_id, messages=tuple(messages), source=self.name, lang=self.lang, license=self.license, meta=meta
        )

    def _instruction(self, record: Mapping[str, Any], input_key: str | None = "input") -> str:
        prompt = text_field(record, "instruction")
        extra = text_field(record, input_key, required=False) if input_key else ""
        return prompt + INPUT_PREFIX + extra if extra.strip() else prompt


# -- instruction sets -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TurboAlpacaOptions:
    #: which answer to use: "output" or "alternative_output" (Saiga's choice; falls back to output when empty)
    output: str = "output"

    def __post_init__(self) -> None:
        check_choice("output", self.output, ("output", "alternative_output"))


class RuTurboAlpacaBuilder(SaigaBuilder):
    name = "ru_turbo_alpaca"
    hub_id = "IlyaGusev/ru_turbo_alpaca"
    description = "Saiga: Alpaca-style instructions generated with gpt-3.5-turbo, in Russian"
    meta_fields = ("label",)
    options_class = TurboAlpacaOptions

    def convert(self, row: Row, options: TurboAlpacaOptions) -> Iterator[Conversation]:
        record = as_object(row)
        prompt = self._instruction(record)
        meta = self._meta(record)
        answer = ""
        if options.output == "alternative_output":
            answer = text_field(record, "alternative_output", required=False)
        if answer.strip():
            meta["output_field"] = "alternative_output"
        else:
            answer = text_field(record, "output")
        yield self._conversation(
            index_id(self.name, row), [Message("user", prompt), Message("assistant", answer)], meta
        )


class RuTurboAlpacaEvolInstructBuilder(SaigaBuilder):
    name = "ru_turbo_alpaca_evol_instruct"
    hub_id = "IlyaGusev/ru_turbo_alpaca_evol_instruct"
    description = "Saiga: Evol-Instruct rewrites of ru_turbo_alpaca tasks, answered with gpt-3.5-turbo"
    meta_fields = ("iteration", "source")

    def convert(self, row: Row, options: object) -> Iterator[Conversation]:
        record = as_object(row)
        prompt = self._instruction(record, input_key="input" if "input" in record else None)
        answer = text_field(record, "output")
        messages = [Message("user", prompt), Message("assistant", answer)]
        yield self._conversation(index_id(self.name, row), messages, self._meta(record))


@dataclass(frozen=True)
class InstructGpt4Options:
    #: which answer to use: "full_output" (Saiga's choice) or the short "output"
    output: str = "full_output"

    def __post_init__(self) -> None:
        check_choice("output", self.output, ("full_output", "output"))


class RuInstructGpt4Builder(SaigaBuilder):
    name = "ru_instruct_gpt4"
    hub_id = "lksy/ru_instruct_gpt4"  # published by lksy, used in Saiga's mix
    description = "Russian instructions answered with GPT-4 (used in the Saiga mix)"
    options_class = InstructGpt4Options

    def convert(self, row: Row, options: InstructGpt4Options) -> Iterator[Conversation]:
        record = as_object(row)
        prompt = self._instruction(record)
        answer = text_field(record, options.output)
        messages = [Message("user", prompt), Message("assistant", answer)]
        yield self._conversation(index_id(self.name, row), messages, self._meta(record))


# -- message sets ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class MessagesOptions:
    #: consecutive turns of one role: "merge" them, or "reject" the record
    non_alternating: str = "merge"

    def __post_init__(self) -> None:
        check_choice("non_alternating", self.non_alternating, NON_ALTERNATING)


class SaigaMessagesBuilder(SaigaBuilder):
    """A set whose records carry ``messages`` (Saiga roles: system, user, bot)."""

    options_class = MessagesOptions

    def convert(self, row: Row, options: MessagesOptions) -> Iterator[Conversation]:
        record = as_object(row)
        if "messages" not in record:
            raise RecordError(f"missing field 'messages' (keys: {', '.join(sorted(map(str, record)))})")
        turns = message_list(record["messages"])
        messages, notes = normalize_turns(turns, non_alternating=options.non_alternating)
        yield self._conversation(index_id(self.name, row), messages, {**self._meta(record), **notes})


class RuTurboSaigaBuilder(SaigaMessagesBuilder):
    name = "ru_turbo_saiga"
    hub_id = "IlyaGusev/ru_turbo_saiga"
    description = "Saiga: multi-turn dialogues generated with gpt-3.5-turbo from seed topics"
    meta_fields = ("seed", "source", "model_name")


class RuShareGptCleanedBuilder(SaigaMessagesBuilder):
    name = "ru_sharegpt_cleaned"
    hub_id = "IlyaGusev/ru_sharegpt_cleaned"
    description = "Saiga: Russian ShareGPT conversations with ChatGPT, cleaned"


class Oasst1RuMainBranchBuilder(SaigaMessagesBuilder):
    name = "oasst1_ru_main_branch"
    hub_id = "IlyaGusev/oasst1_ru_main_branch"
    description = "Saiga: the best-ranked branch of each Russian OASST1 tree"


# -- role-play ------------------------------------------------------------------------------------
class GptRoleplayRealmBuilder(SaigaBuilder):
    """One conversation per dialogue of each character; the system prompt is "Ты {name}. {context}"."""

    name = "gpt_roleplay_realm"
    hub_id = "IlyaGusev/gpt_roleplay_realm"
    hub_split = "ru"
    description = "Saiga: role-play dialogues with GPT-generated characters (Russian split)"
    options_class = MessagesOptions
    roles: ClassVar[dict[str, str]] = {"char": "assistant", "operator": "user"}

    def convert(self, row: Row, options: MessagesOptions) -> Iterator[Conversation]:
        record = as_object(row)
        name = text_field(record, "name").strip()
        context = text_field(record, "context").strip()
        system = Message("system", f"Ты {name}. {context}")
        dialogues = record.get("dialogues")
        if not isinstance(dialogues, list) or not dialogues:
            raise RecordError(f"field 'dialogues' must be a non-empty list, got {json_type(dialogues)}")
        conversations = []
        for j, dialogue in enumerate(dialogues):
            if not isinstance(dialogue, Mapping) or "chat" not in dialogue:
                raise RecordError(f"dialogue {j} must be an object with 'chat'")
            try:
                turns = message_list(dialogue["chat"], field="chat")
                messages, notes = normalize_turns(turns, non_alternating=options.non_alternating, roles=self.roles)
            except RecordError as e:
                raise RecordError(f"dialogue {j}: {e.reason}") from None
            meta: dict[str, Any] = {"character": name, **notes}
            for key in ("topic", "model_name"):
                if isinstance(dialogue.get(key), str):
                    meta[key] = dialogue[key]
            record_id = f"{index_id(self.name, row)}-{j}"
            conversations.append(self._conversation(record_id, [system, *messages], meta))
        yield from conversations
