"""Preference pairs: the common schema, the TRL and UltraFeedback layouts, and bad records as rejects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ru_llm.core.conversation import Conversation, Message, conversation
from ru_llm.core.errors import RecordError
from ru_llm.core.jsonl import Reject
from ru_llm.dataset.preference import (
    FIELDS,
    PreferencePair,
    content_id,
    is_carrier,
    is_preference_file,
    is_preference_record,
    preference_from_dict,
    read_preferences,
)

Q = "Как сварить рассыпчатую гречку?"
GOOD = "Промойте крупу, залейте водой 1:2, посолите и варите под крышкой 15–20 минут на слабом огне."
BAD = "Гречку варить не нужно, её едят сырой."


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def bot(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def common(**changes: Any) -> dict[str, Any]:
    record = {
        "id": "pref-1",
        "messages": [user(Q)],
        "chosen": GOOD,
        "rejected": BAD,
        "source": "hand",
        "lang": "ru",
        "license": "CC0-1.0",
        "meta": {"topic": "кулинария"},
    }
    record.update(changes)
    return record


def reason(record: Any, **kwargs: Any) -> str:
    with pytest.raises(RecordError) as info:
        preference_from_dict(record, **kwargs)
    return info.value.reason


# -- the pair ---------------------------------------------------------------------------------------
def test_common_schema_round_trips() -> None:
    record = common(commercial=True)
    pair = preference_from_dict(record)
    assert pair.id == "pref-1"
    assert pair.prompt.messages == (Message("user", Q),)
    assert (pair.chosen, pair.rejected) == (GOOD, BAD)
    assert (pair.source, pair.lang, pair.license, pair.commercial) == ("hand", "ru", "CC0-1.0", True)
    assert pair.to_dict() == record
    assert tuple(pair.to_dict()) == FIELDS
    unstamped = preference_from_dict(common())  # a file from before licence stamps: read, written back as it was
    assert unstamped.commercial is None and unstamped.to_dict() == common()
    assert preference_from_dict(pair.to_dict()) == pair


@pytest.mark.parametrize(
    "reply",
    [GOOD, bot(GOOD), [bot(GOOD)], {"role": "gpt", "content": GOOD}, [{"role": "bot", "content": GOOD}]],
    ids=["string", "message", "one-message-list", "alias-message", "alias-list"],
)
def test_a_reply_is_a_string_or_an_assistant_message(reply: Any) -> None:
    pair = preference_from_dict(common(chosen=reply, rejected=[bot(BAD)]))
    assert (pair.chosen, pair.rejected) == (GOOD, BAD)
    assert isinstance(pair.to_dict()["chosen"], str)


def test_multi_turn_prompt_with_system_and_aliases() -> None:
    record = common(
        messages=[
            {"role": "system", "content": "Ты полезный ассистент."},
            {"role": "human", "content": "Привет!"},
            {"role": "gpt", "content": "Здравствуйте! Чем помочь?"},
            {"role": "prompter", "content": Q},
        ]
    )
    pair = preference_from_dict(record)
    assert [m.role for m in pair.messages] == ["system", "user", "assistant", "user"]
    assert pair.to_dict()["messages"][1] == user("Привет!")


def test_pair_validates_on_construction() -> None:
    prompt = conversation("x", [("user", Q)], lang="ru")
    assert PreferencePair(prompt, GOOD, BAD).id == "x"
    with pytest.raises(RecordError, match="identical"):
        PreferencePair(prompt, GOOD, GOOD + "  ")
    with pytest.raises(RecordError, match="'rejected' is empty"):
        PreferencePair(prompt, GOOD, " \n")
    ends_on_bot = conversation("y", [("user", Q), ("assistant", GOOD)])
    with pytest.raises(RecordError, match="prompt ends on an assistant turn") as info:
        PreferencePair(ends_on_bot, GOOD, BAD)
    assert info.value.record_id == "y"


def test_chosen_and_rejected_conversations() -> None:
    pair = PreferencePair(conversation("x", [("user", Q)], license="MIT"), GOOD, BAD)
    chosen, rejected = pair.chosen_conversation(), pair.rejected_conversation()
    assert [m.content for m in chosen.messages] == [Q, GOOD]
    assert rejected.messages[-1] == Message("assistant", BAD)
    assert chosen.license == "MIT" and chosen.id == "x"


def test_carrier_conversation_round_trips() -> None:
    pair = preference_from_dict(common())
    carrier = pair.to_conversation()
    assert isinstance(carrier, Conversation) and is_carrier(carrier)
    assert carrier.messages == pair.messages and carrier.meta["preference"] == {"chosen": GOOD, "rejected": BAD}
    assert "preference" not in pair.meta  # the pair's own meta is not changed
    assert PreferencePair.from_conversation(carrier) == pair
    with pytest.raises(RecordError, match="not a preference pair"):
        PreferencePair.from_conversation(pair.chosen_conversation())


# -- TRL layouts -------------------------------------------------------------------------------------
def test_trl_string_prompt() -> None:
    pair = preference_from_dict({"prompt": "What is the capital of France?", "chosen": "Paris.", "rejected": "Lyon."})
    assert pair.messages == (Message("user", "What is the capital of France?"),)
    assert (pair.chosen, pair.rejected) == ("Paris.", "Lyon.")
    assert pair.meta == {"layout": "trl"}
    assert pair.id.startswith("pref-") and len(pair.id) == 21


def test_trl_conversational_explicit_prompt() -> None:
    record = {
        "prompt": [{"role": "system", "content": "Answer briefly."}, user("What color is the sky?")],
        "chosen": [bot("Blue.")],
        "rejected": [bot("Green.")],
    }
    pair = preference_from_dict(record)
    assert [m.role for m in pair.messages] == ["system", "user"]
    assert (pair.chosen, pair.rejected) == ("Blue.", "Green.")


def test_trl_implicit_prompt_is_the_shared_prefix() -> None:
    prefix = [user("Привет!"), bot("Здравствуйте!"), user(Q)]
    pair = preference_from_dict({"chosen": [*prefix, bot(GOOD)], "rejected": [*prefix, bot(BAD)]})
    assert [m.content for m in pair.messages] == ["Привет!", "Здравствуйте!", Q]
    assert (pair.chosen, pair.rejected) == (GOOD, BAD)
    assert pair.meta["layout"] == "trl-implicit"


def test_ultrafeedback_binarized_row() -> None:
    prompt = "Write a haiku about autumn."
    chosen = [user(prompt), bot("Crisp leaves drift and fall\n...")]
    rejected = [user(prompt), bot("Autumn is a season.")]
    row = {
        "prompt": prompt,
        "prompt_id": "3f2a9c",
        "chosen": chosen,
        "rejected": rejected,
        "messages": chosen,
        "score_chosen": 8.5,
        "score_rejected": 4.0,
    }
    pair = preference_from_dict(row, source="ultrafeedback_binarized", license="MIT", lang="en")
    assert pair.id == "3f2a9c"
    assert pair.messages == (Message("user", prompt),)
    assert pair.rejected == "Autumn is a season."
    assert pair.meta == {"prompt_id": "3f2a9c", "score_chosen": 8.5, "score_rejected": 4.0, "layout": "trl-implicit"}
    assert (pair.source, pair.license, pair.lang) == ("ultrafeedback_binarized", "MIT", "en")


def test_prompt_string_may_name_the_first_turn_of_a_longer_prefix() -> None:
    prefix = [user("Привет!"), bot("Здравствуйте!"), user(Q)]
    pair = preference_from_dict({"prompt": "Привет!", "chosen": [*prefix, bot(GOOD)], "rejected": [*prefix, bot(BAD)]})
    assert len(pair.messages) == 3


def test_record_values_win_over_defaults_and_extra_keys_go_to_meta() -> None:
    record = common(meta=None, license=None)
    record["rating"] = 5
    pair = preference_from_dict(record, source="file", license="CC-BY-4.0", lang="en")
    assert (pair.source, pair.license, pair.lang) == ("hand", "CC-BY-4.0", "ru")
    assert pair.meta == {"rating": 5}


def test_ids() -> None:
    assert preference_from_dict(common(id=7)).id == "7"
    no_id = common()
    del no_id["id"]
    assert preference_from_dict({**no_id, "prompt_id": "p1"}).id == "p1"
    assert preference_from_dict(no_id, default_id="row-3").id == "row-3"
    hashed = preference_from_dict(no_id).id
    assert hashed == preference_from_dict(dict(no_id)).id == content_id([Message("user", Q)], GOOD, BAD)
    assert hashed != preference_from_dict({**no_id, "rejected": "Не знаю."}).id


# -- recognising and rejecting ----------------------------------------------------------------------
def test_is_preference_record() -> None:
    assert is_preference_record(common())
    assert is_preference_record({"messages": [user(Q)], "chosen": GOOD})  # a broken pair, not a conversation
    assert is_preference_record({"prompt": Q, "rejected": BAD})
    assert not is_preference_record({"messages": [user(Q), bot(GOOD)]})
    assert not is_preference_record(["chosen"])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"chosen": None}, "missing 'chosen'"),
        ({"rejected": None}, "missing 'rejected'"),
        ({"messages": [user(Q), bot(GOOD)]}, "prompt ends on an assistant turn"),
        ({"messages": []}, "the prompt is empty"),
        ({"messages": [user("  ")]}, "empty user message (message 0)"),
        ({"messages": [bot("Hi"), user(Q)]}, "the first turn is the assistant's (message 0)"),
        ({"messages": [user("a"), user(Q)]}, "two user turns in a row (messages 0 and 1)"),
        ({"messages": [user(Q), {"role": "system", "content": "x"}, user(Q)]}, "system message after"),
        ({"id": [1]}, "'id' must be a non-empty string or an integer"),
        ({"id": " "}, "'id' must be a non-empty string or an integer"),
        ({"chosen": {**bot(GOOD), "name": "gpt"}}, "'chosen' message 0 has unknown key 'name'"),
        ({"messages": [{**user(Q), "weight": 1}]}, "message 0 has unknown key 'weight'"),
        ({"commercial": "yes"}, "'commercial' must be true, false or null, got string"),
        ({"messages": "Привет"}, "'messages' must be a list of messages, got string"),
        ({"messages": [{"role": "narrator", "content": Q}]}, "unknown role 'narrator'"),
        ({"messages": [{"role": "user", "content": 5}]}, "content must be a string, got number"),
        ({"chosen": ""}, "'chosen' is empty"),
        ({"rejected": "   "}, "'rejected' is empty"),
        ({"chosen": []}, "'chosen' is empty"),
        ({"chosen": BAD}, "chosen and rejected are identical"),
        ({"chosen": BAD + " \n"}, "chosen and rejected are identical"),  # only whitespace differs
        ({"chosen": 42}, "'chosen' must be a string, a message or a list of messages, got number"),
        ({"chosen": [bot("a"), bot("b")]}, "'chosen' holds 2 assistant messages; a reply is one message"),
        ({"meta": "x"}, "'meta' must be an object, got string"),
        ({"license": 3}, "'license' must be a string or null, got number"),
    ],
)
def test_bad_records_give_a_reason(change: dict[str, Any], expected: str) -> None:
    assert expected in reason(common(**change), location="prefs.jsonl:4")


def test_error_names_record_and_location() -> None:
    with pytest.raises(RecordError) as info:
        preference_from_dict(common(rejected=GOOD), location="prefs.jsonl:9")
    assert info.value.record_id == "pref-1" and info.value.location == "prefs.jsonl:9"
    assert str(info.value) == "prefs.jsonl:9: record 'pref-1': chosen and rejected are identical"
    assert info.value.hint


def test_bad_layouts() -> None:
    assert reason(["not", "an", "object"]) == "expected a JSON object, got array"
    assert reason({"chosen": GOOD, "rejected": BAD}) == "missing prompt: neither 'messages' nor 'prompt'"
    assert reason({"prompt": "", "chosen": GOOD, "rejected": BAD}) == "the prompt is empty"
    # a null prompt is an absent prompt (Arrow fills missing columns with null)
    assert reason({"prompt": None, "chosen": GOOD, "rejected": BAD}).startswith("missing prompt")
    a, b = [user("Вопрос один"), bot(GOOD)], [user("Вопрос два"), bot(BAD)]
    assert reason({"chosen": a, "rejected": b}) == "chosen and rejected do not share the prompt"
    assert (
        reason({"chosen": [user(Q)], "rejected": [user(Q), bot(BAD)]}) == "'chosen' does not end on an assistant turn"
    )
    assert reason({"prompt": "Другое", "chosen": [user(Q), bot(GOOD)], "rejected": BAD}) == (
        "'chosen' does not continue the prompt"
    )
    # an implicit-prompt conversation and a bare reply: the reply answers what?
    assert (
        reason({"chosen": [user(Q), bot(GOOD)], "rejected": BAD})
        == "'rejected' is a reply but the record has no prompt"
    )
    assert reason({"prompt": [], "chosen": GOOD, "rejected": BAD}) == "the prompt is empty"


# -- nulls from Arrow-backed readers (Parquet, datasets) ---------------------------------------------
def test_null_optional_keys_are_absent() -> None:
    nulls = {"id": None, "prompt_id": None, "source": None, "lang": None, "license": None, "meta": None}
    trl = preference_from_dict({"prompt": Q, "messages": None, "chosen": GOOD, "rejected": BAD, **nulls})
    assert trl.messages == (Message("user", Q),) and trl.meta == {"layout": "trl"}
    assert trl.id == preference_from_dict({"prompt": Q, "chosen": GOOD, "rejected": BAD}).id
    plain = {k: v for k, v in common().items() if k not in ("id", "meta")}
    pair = preference_from_dict({**plain, "prompt": None, "score_chosen": None, "id": None, "meta": None}, lang="en")
    assert pair.meta == {} and pair.lang == "ru" and pair.id.startswith("pref-")
    assert pair.to_dict() == preference_from_dict(plain).to_dict()
    implicit = [user(Q), bot(GOOD)], [user(Q), bot(BAD)]
    both = preference_from_dict({"prompt": None, "messages": None, "chosen": implicit[0], "rejected": implicit[1]})
    assert both.messages == (Message("user", Q),) and both.meta == {"layout": "trl-implicit"}


@pytest.mark.parametrize("layout", [common(), {"prompt": Q, "chosen": GOOD, "rejected": BAD}])
@pytest.mark.parametrize("key", ["chosen", "rejected"])
def test_null_reply_is_still_missing(layout: dict[str, Any], key: str) -> None:
    assert reason({**layout, "prompt": None, key: None} if "messages" in layout else {**layout, key: None}) == (
        f"missing {key!r}"
    )


def test_mixed_layouts_through_datasets_match_jsonl() -> None:
    datasets = pytest.importorskip("datasets")
    rows = [
        common(),
        {"prompt": "Сколько будет 17 × 3?", "chosen": "17 × 3 = 51.", "rejected": "17 × 3 = 41."},
        {"id": "sys", "prompt": "Привет", "chosen": "Здравствуйте!", "rejected": "Пока.", "lang": "ru"},
    ]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    # from_list takes its columns from the first row: give every row every column, as Parquet would
    table = datasets.Dataset.from_list([{key: row.get(key) for key in columns} for row in rows])
    arrow = [dict(row) for row in table]
    assert arrow[0]["prompt"] is None and arrow[1]["messages"] is None  # what Arrow does to absent keys
    got = [preference_from_dict(row).to_dict() for row in arrow]
    assert got == [preference_from_dict(row).to_dict() for row in rows]


def test_mixed_layout_directory_reads_like_the_jsonl(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    pairs_file = Path(__file__).parent.parent / "data" / "preference" / "pairs.jsonl"
    (tmp_path / "pairs.jsonl").write_bytes(pairs_file.read_bytes())
    table = datasets.load_dataset(str(tmp_path), split="train")
    from_arrow = [preference_from_dict(dict(row)) for row in table]
    from_jsonl = list(read_preferences(pairs_file))
    assert len(from_arrow) == len(from_jsonl) == 12
    assert [p.id for p in from_arrow] == [p.id for p in from_jsonl]
    assert [(p.messages, p.chosen, p.rejected) for p in from_arrow] == [
        (p.messages, p.chosen, p.rejected) for p in from_jsonl
    ]


# -- files ------------------------------------------------------------------------------------------
def write_lines(path: Path, lines: list[Any]) -> Path:
    with open(path, "wb") as fh:
        for line in lines:
            fh.write(line + b"\n" if isinstance(line, bytes) else json.dumps(line, ensure_ascii=False).encode() + b"\n")
    return path


def test_read_preferences_rejects_bad_lines_with_file_and_line(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "prefs.jsonl",
        [
            common(),
            {"prompt": "Hello", "chosen": "Hi! How can I help?", "rejected": "Go away."},
            {"id": "no-chosen", "messages": [user(Q)], "rejected": BAD},
            b"{not json",
            {"id": "on-bot", "messages": [user(Q), bot(GOOD)], "chosen": GOOD, "rejected": BAD},
            {"id": "empty", "messages": [user(Q)], "chosen": "", "rejected": BAD},
        ],
    )
    rejects: list[Reject] = []
    reader = read_preferences(path, on_reject=rejects.append, license="CC0-1.0")
    pairs = list(reader)
    assert len(pairs) == 2 and pairs[0].id == "pref-1"
    assert pairs[1].license == "CC0-1.0" and pairs[1].meta == {"layout": "trl"}
    assert [(r.line, r.record_id, r.reason) for r in rejects] == [
        (3, "no-chosen", "missing 'chosen'"),
        (4, None, rejects[1].reason),
        (5, "on-bot", "prompt ends on an assistant turn"),
        (6, "empty", "'chosen' is empty"),
    ]
    assert rejects[1].reason.startswith("invalid JSON")
    assert all(r.file == str(path) for r in rejects)
    assert reader.stats.records == 6 and reader.stats.ok == 2 and reader.stats.rejected == 4


def test_read_preferences_is_strict_without_on_reject(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "prefs.jsonl", [common(), common(id="bad", chosen=None)])
    with pytest.raises(RecordError) as info:
        list(read_preferences(path))
    assert str(info.value) == f"{path}:2: record 'bad': missing 'chosen'"
    assert len(list(read_preferences(path, on_reject=lambda r: None))) == 1


def test_is_preference_file(tmp_path: Path) -> None:
    prefs = write_lines(tmp_path / "prefs.jsonl", [b"", common()])
    convs = write_lines(tmp_path / "convs.jsonl", [{"id": "c", "messages": [user(Q), bot(GOOD)]}])
    empty = write_lines(tmp_path / "empty.jsonl", [])
    assert is_preference_file(prefs) and not is_preference_file(convs) and not is_preference_file(empty)
