"""Tests for ru_llm.core.conversation: the conversation record, its validation and role aliases."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ru_llm.core.conversation import (
    ROLE_ALIASES,
    ROLES,
    Conversation,
    Message,
    canonical_role,
    conversation,
)
from ru_llm.core.errors import RecordError, RuLLMError

LOC = "data.jsonl:3"


def record(**overrides: Any) -> dict[str, Any]:
    """A valid record in canonical form; keyword arguments replace (or, with ``...``, drop) keys."""
    base: dict[str, Any] = {
        "id": "dolly-00042",
        "messages": [
            {"role": "system", "content": "Ты — полезный ассистент."},
            {"role": "user", "content": "Какая столица России?"},
            {"role": "assistant", "content": "Столица России — Москва."},
        ],
        "source": "dolly",
        "lang": "ru",
        "license": "CC-BY-SA-3.0",
        "meta": {"category": "open_qa", "оценка": 5},
    }
    for key, value in overrides.items():
        if value is ...:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def assert_record_error(error: RecordError, *, record_id: str | None, fragment: str) -> None:
    """The message names the location, the record id (when there is one) and the reason."""
    message = str(error)
    assert error.location == LOC
    assert message.startswith(f"{LOC}: ")
    assert error.record_id == record_id
    if record_id is not None:
        assert f"record {record_id!r}" in message
    assert fragment in error.reason
    assert error.reason in message
    assert isinstance(error, RuLLMError)


# --- round trip -----------------------------------------------------------------------------------


def test_from_dict_reads_every_field() -> None:
    conv = Conversation.from_dict(record())
    assert conv.id == "dolly-00042"
    assert conv.messages == (
        Message("system", "Ты — полезный ассистент."),
        Message("user", "Какая столица России?"),
        Message("assistant", "Столица России — Москва."),
    )
    assert conv.source == "dolly"
    assert conv.lang == "ru"
    assert conv.license == "CC-BY-SA-3.0"
    assert conv.meta == {"category": "open_qa", "оценка": 5}


def test_to_dict_round_trips_canonical_record() -> None:
    data = record()
    assert Conversation.from_dict(data).to_dict() == data


def test_round_trip_through_json_text() -> None:
    conv = Conversation.from_dict(record())
    again = Conversation.from_dict(json.loads(json.dumps(conv.to_dict(), ensure_ascii=False)))
    assert again == conv


def test_to_dict_has_every_key_even_when_optional_fields_absent() -> None:
    data = {"id": "x1", "messages": [{"role": "user", "content": "Привет"}]}
    out = Conversation.from_dict(data).to_dict()
    assert out == {
        "id": "x1",
        "messages": [{"role": "user", "content": "Привет"}],
        "source": None,
        "lang": None,
        "license": None,
        "meta": {},
    }
    assert list(out) == ["id", "messages", "source", "lang", "license", "meta"]


def test_optional_fields_may_be_null() -> None:
    conv = Conversation.from_dict(record(source=None, lang=None, license=None, meta=None))
    assert conv.source is None
    assert conv.lang is None
    assert conv.license is None
    assert conv.meta == {}


def test_from_dict_does_not_modify_input() -> None:
    data = record(messages=[{"role": "bot", "content": "Здравствуйте"}])
    before = copy.deepcopy(data)
    Conversation.from_dict(data)
    assert data == before


def test_meta_is_copied_from_input() -> None:
    data = record()
    conv = Conversation.from_dict(data)
    data["meta"]["category"] = "changed"
    assert conv.meta["category"] == "open_qa"


def test_messages_are_a_tuple() -> None:
    conv = Conversation.from_dict(record())
    assert isinstance(conv.messages, tuple)


def test_empty_content_is_allowed() -> None:
    conv = Conversation.from_dict(record(messages=[{"role": "user", "content": ""}]))
    assert conv.messages[0].content == ""


def test_integer_id_is_accepted_as_string() -> None:
    conv = Conversation.from_dict(record(id=42))
    assert conv.id == "42"
    assert conv.to_dict()["id"] == "42"


def test_zero_id_is_accepted_as_string() -> None:
    assert Conversation.from_dict(record(id=0)).id == "0"


def test_from_dict_accepts_any_mapping() -> None:
    from types import MappingProxyType

    conv = Conversation.from_dict(MappingProxyType(record()))
    assert conv.id == "dolly-00042"


def test_turns_filters_by_role() -> None:
    conv = Conversation.from_dict(
        record(
            messages=[
                {"role": "user", "content": "Раз"},
                {"role": "assistant", "content": "Два"},
                {"role": "user", "content": "Три"},
            ]
        )
    )
    assert [m.content for m in conv.turns("user")] == ["Раз", "Три"]
    assert [m.content for m in conv.turns("assistant")] == ["Два"]
    assert conv.turns("system") == []


# --- role aliases ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "role"),
    [
        ("bot", "assistant"),
        ("gpt", "assistant"),
        ("model", "assistant"),
        ("human", "user"),
        ("prompter", "user"),
        ("BOT", "assistant"),
        ("Gpt", "assistant"),
        ("MODEL", "assistant"),
        ("Human", "user"),
        ("PROMPTER", "user"),
        ("User", "user"),
        ("ASSISTANT", "assistant"),
        ("System", "system"),
    ],
)
def test_role_aliases_are_written_canonically(alias: str, role: str) -> None:
    conv = Conversation.from_dict(record(messages=[{"role": alias, "content": "Текст"}]))
    assert conv.messages[0].role == role
    assert conv.to_dict()["messages"] == [{"role": role, "content": "Текст"}]


def test_role_alias_table_matches_documented_aliases() -> None:
    assert ROLES == ("system", "user", "assistant")
    assert ROLE_ALIASES == {
        "bot": "assistant",
        "gpt": "assistant",
        "model": "assistant",
        "human": "user",
        "prompter": "user",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("user", "user"),
        (" Assistant ", "assistant"),
        ("HUMAN", "user"),
        ("narrator", None),
        ("", None),
        (None, None),
        (1, None),
        (["user"], None),
    ],
)
def test_canonical_role(raw: object, expected: str | None) -> None:
    assert canonical_role(raw) == expected


# --- validation failures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ([], "array"),
        ("строка", "string"),
        (5, "number"),
        (None, "null"),
        (True, "boolean"),
    ],
)
def test_non_object_record_raises(data: object, kind: str) -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(data, location=LOC)
    assert_record_error(info.value, record_id=None, fragment=f"expected a JSON object, got {kind}")


@pytest.mark.parametrize("bad_id", [..., None, True, False, 1.5, [], {}], ids=repr)
def test_missing_or_unusable_id_raises(bad_id: object) -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(id=bad_id), location=LOC)
    assert_record_error(info.value, record_id=None, fragment="'id' must be a non-empty string or an integer")
    assert info.value.hint is not None


def test_empty_string_id_raises() -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(id=""), location=LOC)
    assert info.value.location == LOC
    assert str(info.value).startswith(f"{LOC}: ")
    assert "'id' must be a non-empty string or an integer" in str(info.value)


def test_unknown_top_level_key_raises() -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(category="open_qa"), location=LOC)
    assert_record_error(info.value, record_id="dolly-00042", fragment="unknown key 'category'")
    assert info.value.hint == "put extra fields under 'meta'"


def test_integer_id_is_named_in_errors() -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(id=7, extra=1), location=LOC)
    assert_record_error(info.value, record_id="7", fragment="unknown key 'extra'")


@pytest.mark.parametrize(
    ("messages", "kind"),
    [(..., "null"), (None, "null"), ({"role": "user"}, "object"), ("Привет", "string"), (3, "number")],
    ids=repr,
)
def test_messages_not_a_list_raises(messages: object, kind: str) -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(messages=messages), location=LOC)
    assert_record_error(info.value, record_id="dolly-00042", fragment=f"'messages' must be a list, got {kind}")


def test_empty_messages_raises() -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(messages=[]), location=LOC)
    assert_record_error(info.value, record_id="dolly-00042", fragment="'messages' is empty")


@pytest.mark.parametrize(
    ("message", "kind"),
    [("Привет", "string"), (["user", "Привет"], "array"), (None, "null"), (1, "number")],
    ids=repr,
)
def test_message_not_an_object_raises(message: object, kind: str) -> None:
    messages = [{"role": "user", "content": "Привет"}, message]
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(messages=messages), location=LOC)
    assert_record_error(info.value, record_id="dolly-00042", fragment=f"message 1 must be an object, got {kind}")


def test_unknown_message_key_raises() -> None:
    messages = [{"role": "user", "content": "Привет", "name": "Иван"}]
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(messages=messages), location=LOC)
    assert_record_error(info.value, record_id="dolly-00042", fragment="message 0 has unknown key 'name'")
    assert info.value.hint is not None


@pytest.mark.parametrize("role", ["narrator", "", None, 1, "users"], ids=repr)
def test_unknown_role_raises(role: object) -> None:
    messages = [{"role": "user", "content": "Привет"}, {"role": role, "content": "Ответ"}]
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(messages=messages), location=LOC)
    assert_record_error(info.value, record_id="dolly-00042", fragment=f"message 1 has unknown role {role!r}")
    assert info.value.hint is not None
    assert "system, user, assistant" in info.value.hint


def test_missing_role_raises() -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(messages=[{"content": "Привет"}]), location=LOC)
    assert_record_error(info.value, record_id="dolly-00042", fragment="message 0 has unknown role None")


@pytest.mark.parametrize(
    ("content", "kind"),
    [(..., "null"), (None, "null"), (5, "number"), (["Привет"], "array"), ({"text": "x"}, "object")],
    ids=repr,
)
def test_non_string_content_raises(content: object, kind: str) -> None:
    message: dict[str, Any] = {"role": "user"}
    if content is not ...:
        message["content"] = content
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(messages=[message]), location=LOC)
    assert_record_error(info.value, record_id="dolly-00042", fragment=f"message 0 content must be a string, got {kind}")


@pytest.mark.parametrize("key", ["source", "lang", "license"])
@pytest.mark.parametrize(("value", "kind"), [(1, "number"), (["ru"], "array"), (True, "boolean")])
def test_non_string_optional_text_field_raises(key: str, value: object, kind: str) -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(**{key: value}), location=LOC)
    assert_record_error(info.value, record_id="dolly-00042", fragment=f"{key!r} must be a string or null, got {kind}")


@pytest.mark.parametrize(("meta", "kind"), [([], "array"), ("открытый", "string"), (3, "number")], ids=repr)
def test_meta_not_an_object_raises(meta: object, kind: str) -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(meta=meta), location=LOC)
    assert_record_error(info.value, record_id="dolly-00042", fragment=f"'meta' must be an object, got {kind}")


def test_error_without_location_has_only_record_prefix() -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record(messages=[]))
    assert info.value.location is None
    assert str(info.value) == "record 'dolly-00042': 'messages' is empty"


def test_first_problem_is_reported() -> None:
    # Two bad messages: the error is about the first one.
    messages = [{"role": "narrator", "content": "x"}, {"role": "user", "content": 5}]
    with pytest.raises(RecordError, match="message 0 has unknown role 'narrator'"):
        Conversation.from_dict(record(messages=messages), location=LOC)


# --- conversation() shorthand ---------------------------------------------------------------------


def test_conversation_shorthand_builds_messages() -> None:
    conv = conversation("x", [("user", "Привет"), ("assistant", "Здравствуйте")], lang="ru")
    assert conv == Conversation(
        id="x",
        messages=(Message("user", "Привет"), Message("assistant", "Здравствуйте")),
        lang="ru",
    )
    assert conv.source is None
    assert conv.meta == {}


def test_conversation_shorthand_resolves_aliases_and_passes_fields() -> None:
    conv = conversation(
        "x",
        iter([("Human", "Как дела?"), ("gpt", "Отлично!")]),
        source="oasst",
        license="Apache-2.0",
        meta={"turns": 2},
    )
    assert [m.role for m in conv.messages] == ["user", "assistant"]
    assert conv.to_dict() == {
        "id": "x",
        "messages": [
            {"role": "user", "content": "Как дела?"},
            {"role": "assistant", "content": "Отлично!"},
        ],
        "source": "oasst",
        "lang": None,
        "license": "Apache-2.0",
        "meta": {"turns": 2},
    }


def test_conversation_shorthand_round_trips_through_from_dict() -> None:
    conv = conversation("ru-1", [("system", "Отвечай кратко."), ("user", "2+2?"), ("bot", "4")], lang="ru")
    assert Conversation.from_dict(conv.to_dict()) == conv


def test_conversation_shorthand_rejects_empty_turns() -> None:
    with pytest.raises(RecordError, match="'messages' is empty") as info:
        conversation("x", [])
    assert info.value.record_id == "x"


def test_conversation_shorthand_rejects_unknown_role() -> None:
    with pytest.raises(RecordError, match="unknown role 'narrator'"):
        conversation("x", [("narrator", "Жили-были…")])


def test_conversation_shorthand_rejects_empty_id() -> None:
    with pytest.raises(RecordError, match="'id' must be a non-empty string"):
        conversation("", [("user", "Привет")])


# --- Conversation constructor ---------------------------------------------------------------------


def test_constructor_converts_message_list_to_tuple() -> None:
    conv = Conversation(id="x", messages=[Message("user", "Привет")])  # type: ignore[arg-type]
    assert conv.messages == (Message("user", "Привет"),)


@pytest.mark.parametrize("bad_id", ["", None, 5])
def test_constructor_rejects_bad_id(bad_id: object) -> None:
    with pytest.raises(RecordError, match="'id' must be a non-empty string"):
        Conversation(id=bad_id, messages=(Message("user", "Привет"),))  # type: ignore[arg-type]


def test_constructor_rejects_non_message_items() -> None:
    with pytest.raises(RecordError, match="message 1 is not a Message") as info:
        Conversation(
            id="x",
            messages=(Message("user", "Привет"), {"role": "assistant", "content": "Да"}),  # type: ignore[arg-type]
        )
    assert info.value.record_id == "x"


def test_conversation_is_frozen() -> None:
    conv = conversation("x", [("user", "Привет")])
    with pytest.raises(AttributeError):
        conv.id = "y"  # type: ignore[misc]


# --- Message --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "canonical"),
    [("user", "user"), ("Bot", "assistant"), ("PROMPTER", "user"), (" system ", "system")],
)
def test_message_canonicalises_role(role: str, canonical: str) -> None:
    message = Message(role, "Привет")
    assert message.role == canonical
    assert message.to_dict() == {"role": canonical, "content": "Привет"}


def test_message_equality_uses_canonical_role() -> None:
    assert Message("gpt", "Да") == Message("assistant", "Да")


@pytest.mark.parametrize("role", ["narrator", "", None, 3])
def test_message_rejects_unknown_role(role: object) -> None:
    with pytest.raises(RecordError, match=r"unknown role") as info:
        Message(role, "Привет")  # type: ignore[arg-type]
    assert info.value.hint is not None
    assert "assistant" in info.value.hint


@pytest.mark.parametrize(("content", "type_name"), [(None, "NoneType"), (5, "int"), (b"bytes", "bytes")])
def test_message_rejects_non_string_content(content: object, type_name: str) -> None:
    with pytest.raises(RecordError, match=f"message content must be a string, not {type_name}"):
        Message("user", content)  # type: ignore[arg-type]


def test_message_is_frozen() -> None:
    message = Message("user", "Привет")
    with pytest.raises(AttributeError):
        message.content = "Пока"  # type: ignore[misc]


def test_conversations_hash_and_turns_accept_aliases() -> None:
    from ru_llm.core import conversation

    conv = conversation("h1", [("human", "Привет"), ("bot", "Здравствуйте")], meta={"k": [1]})
    assert hash(conv) == hash(conversation("h1", [("user", "Привет"), ("assistant", "Здравствуйте")]))
    assert [m.content for m in conv.turns("bot")] == ["Здравствуйте"]
