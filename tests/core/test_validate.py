"""The one set of turn rules (ru_llm.core.validate): each broken rule has one reason, with positions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ru_llm.core.conversation import Conversation, Message
from ru_llm.core.errors import RecordError
from ru_llm.core.jsonl import Reject
from ru_llm.core.validate import checked_conversation, read_checked_conversations, turn_problem

S, U, A = "system", "user", "assistant"


def msgs(*roles: str, empty: int | None = None) -> list[Message]:
    return [Message(role, "  " if i == empty else f"{role} {i}") for i, role in enumerate(roles)]


@pytest.mark.parametrize(
    ("roles", "reason"),
    [
        ((U, A), None),
        ((S, U, A), None),
        ((U, A, U, A), None),
        ((A, U, A), "the first turn is the assistant's (message 0)"),
        ((S, A), "the first turn is the assistant's (message 1)"),
        ((U, U, A), "two user turns in a row (messages 0 and 1)"),
        ((U, A, A), "two assistant turns in a row (messages 1 and 2)"),
        ((S, S, U, A), "two system turns in a row (messages 0 and 1)"),
        ((U, S, A), "system message after the conversation started (message 1)"),
        ((U, A, S), "system message after the conversation started (message 2)"),
        ((U, A, U), "does not end with an assistant reply"),
        ((U,), "does not end with an assistant reply"),
        ((S,), "no user or assistant turn"),
        ((), "no user or assistant turn"),
    ],
)
def test_each_rule_has_one_reason(roles: tuple[str, ...], reason: str | None) -> None:
    assert turn_problem(msgs(*roles)) == reason


def test_the_first_problem_in_message_order_wins() -> None:
    assert turn_problem(msgs(U, U, A, S)) == "two user turns in a row (messages 0 and 1)"
    assert turn_problem(msgs(U, A, U, A, empty=2)) == "empty user message (message 2)"
    assert turn_problem(msgs(U, A, empty=1)) == "empty assistant message (message 1)"
    assert turn_problem(msgs(S, U, A, empty=0)) == "empty system message (message 0)"


def test_a_prompt_keeps_the_same_rules_up_to_its_final_user_turn() -> None:
    assert turn_problem(msgs(S, U, A, U), final="user") is None
    assert turn_problem(msgs(U, A), final="user") == "prompt ends on an assistant turn"
    for roles in [(A, U), (U, U), (U, S, U)]:  # the shared rules give the conversation's reasons
        assert turn_problem(msgs(*roles), final="user") == turn_problem(msgs(*roles, A))


def test_repair_switches_leave_runs_and_the_last_turn_to_the_caller() -> None:
    assert turn_problem(msgs(U, U, A, A), runs=True) is None
    assert turn_problem(msgs(U, A, U), final=None) is None
    # positions still name the input's messages, and the other rules still hold
    assert turn_problem(msgs(U, U, S, A), runs=True, final=None) == (
        "system message after the conversation started (message 2)"
    )
    assert turn_problem(msgs(U, U, A, empty=1), runs=True) == "empty user message (message 1)"


def test_checked_conversation_names_the_record_and_place() -> None:
    record = {"id": "c1", "messages": [{"role": "gpt", "content": "Hi"}, {"role": "human", "content": "Q"}]}
    with pytest.raises(RecordError) as info:
        checked_conversation(record, location="f.jsonl:3")
    assert info.value.reason == "the first turn is the assistant's (message 0)"
    assert str(info.value) == "f.jsonl:3: record 'c1': the first turn is the assistant's (message 0)"
    assert info.value.hint
    good = {"id": 7, "messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
    assert checked_conversation(good) == Conversation.from_dict(good)


def test_read_checked_conversations_counts_in_as_used_plus_rejected(tmp_path: Path) -> None:
    lines = [
        {"id": "ok", "messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]},
        {"id": "late", "messages": [{"role": "user", "content": "Q"}]},
        {"id": 1.5, "messages": []},
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines) + "{broken\n", encoding="utf-8")
    rejects: list[Reject] = []
    reader = read_checked_conversations(path, strict=False, on_reject=rejects.append)
    assert [c.id for c in reader] == ["ok"]
    assert [(r.line, r.reason) for r in rejects[:2]] == [
        (2, "does not end with an assistant reply"),
        (3, "'id' must be a non-empty string or an integer"),
    ]
    assert reader.stats.records == 4 == reader.stats.ok + reader.stats.rejected


def test_the_licence_stamp_is_read_checked_and_written_only_when_known() -> None:
    base = {"id": "x", "messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
    unstamped = Conversation.from_dict(base)
    assert unstamped.commercial is None and "commercial" not in unstamped.to_dict()
    stamped = Conversation.from_dict({**base, "commercial": False})
    assert stamped.commercial is False and stamped.to_dict()["commercial"] is False
    assert list(Conversation.from_dict({**base, "commercial": True, "license": "MIT"}).to_dict()) == [
        "id", "messages", "source", "lang", "license", "commercial", "meta",
    ]  # fmt: skip
    with pytest.raises(RecordError, match="'commercial' must be true, false or null, got string"):
        Conversation.from_dict({**base, "commercial": "yes"})
    with pytest.raises(RecordError, match="'commercial' must be true, false or null, got 1"):
        Conversation("x", (Message("user", "Q"),), commercial=1)  # type: ignore[arg-type]
