"""Bad input never raises a traceback and is never dropped silently: each bad record is a reject with a reason,
and for one-record-one-conversation builders records in = conversations out + records rejected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ru_llm.core.errors import RuLLMError
from ru_llm.core.jsonl import Reject, RejectsWriter, read_jsonl
from ru_llm.dataset import get_dataset_builder
from ru_llm.dataset.builders import LoadStats


def write_lines(path: Path, lines: list[Any]) -> Path:
    """Values are written as JSON; ``bytes`` items are written as they are (broken lines)."""
    with open(path, "wb") as fh:
        for line in lines:
            if isinstance(line, bytes):
                fh.write(line + b"\n")
            else:
                fh.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
    return path


def load(name: str, source: Path, **options: Any) -> tuple[list, list[Reject], LoadStats]:
    rejects: list[Reject] = []
    stats = LoadStats()
    conversations = list(get_dataset_builder(name).load(source, options, on_reject=rejects.append, stats=stats))
    return conversations, rejects, stats


def reason_of(name: str, record: Any, tmp_path: Path, **options: Any) -> str:
    conversations, rejects, _ = load(name, write_lines(tmp_path / "one.jsonl", [record]), **options)
    assert conversations == [] and len(rejects) == 1, rejects
    assert rejects[0].line == 1 and rejects[0].file.endswith("one.jsonl")
    return rejects[0].reason


GOOD = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ([1, 2], "expected a JSON object, got array"),
        ("just text", "expected a JSON object, got string"),
        ({"prompt": "x", "completion": "y"}, "unknown layout (keys: 'completion', 'prompt'); expected 'messages'"),
        ({}, "unknown layout (keys: none)"),
        ({"messages": "Hi"}, "'messages' must be a list of messages, got string"),
        ({"messages": []}, "no user or assistant turn"),
        ({"messages": ["Hi"]}, "message 0 must be an object, got string"),
        (
            {"messages": [{"role": "user", "text": "Hi"}]},
            "message 0 needs 'role' and 'content', got keys ['role', 'text']",
        ),
        (
            {"messages": [{"role": "user", "content": 5}, GOOD["messages"][1]]},
            "message 0 (user) content must be a string, got number",
        ),
        ({"messages": [{"role": "user", "content": "  "}, GOOD["messages"][1]]}, "empty user message (message 0)"),
        ({"messages": [GOOD["messages"][0], {"role": "tool", "content": "{}"}]}, "message 1 has unknown role 'tool'"),
        ({"messages": [{"role": None, "content": "x"}]}, "message 0 has unknown role None"),
        (
            {"messages": [*GOOD["messages"], {"role": "system", "content": "Be nice"}]},
            "system message after the conversation started (message 2)",
        ),
        (
            {"messages": [GOOD["messages"][1], GOOD["messages"][0]]},
            "the first turn is the assistant's (message 0)",
        ),
        ({"messages": [GOOD["messages"][0]]}, "does not end with an assistant reply"),
        (
            {"messages": [GOOD["messages"][0], {"role": "assistant", "content": [{"type": "image_url"}]}]},
            "message 1 has a content part of type 'image_url'",
        ),
        ({**GOOD, "lang": 7}, "'lang' must be a string or null, got number"),
        ({**GOOD, "meta": []}, "'meta' must be an object, got array"),
        ({"conversations": {"from": "human"}}, "'conversations' must be a list, got object"),
        ({"conversations": [{"from": "human", "text": "x"}]}, "turn 0 needs 'from' and 'value', got ['from', 'text']"),
        ({"conversations": [{"from": "narrator", "value": "x"}]}, "message 0 has unknown role 'narrator'"),
        ({"instruction": "Do it", "output": ""}, "field 'output' is empty"),
        ({"instruction": ["Do it"], "output": "Done"}, "field 'instruction' must be a string, got array"),
        ({"instruction": "Do it", "input": 3, "output": "Done"}, "field 'input' must be a string, got number"),
    ],
)
def test_file_rejects_with_a_reason(record: Any, reason: str, tmp_path: Path) -> None:
    assert reason_of("file", record, tmp_path).startswith(reason)


def test_non_alternating_turns_merge_by_default_or_reject(tmp_path: Path) -> None:
    record = {"messages": [{"role": "user", "content": "Part one."}, {"role": "user", "content": "Part two."},
                           {"role": "assistant", "content": "Answer."}]}  # fmt: skip
    (merged,), rejects, _ = load("file", write_lines(tmp_path / "a.jsonl", [record]))
    assert rejects == [] and merged.messages[0].content == "Part one.\n\nPart two." and merged.meta["merged_turns"] == 1
    reason = reason_of("file", record, tmp_path, non_alternating="reject")
    assert reason == "two user turns in a row (messages 0 and 1)"


@pytest.mark.parametrize(
    ("name", "record", "reason"),
    [
        ("dolly", {"instruction": "Q", "context": "", "category": "open_qa"}, "missing field 'response'"),
        ("dolly", {"instruction": "Q", "response": 42}, "field 'response' must be a string, got number"),
        ("dolly", {"instruction": "", "response": "A"}, "field 'instruction' is empty"),
        ("dolly", {"instruction": "Q", "response": "A", "category": 1}, "field 'category' must be a string"),
        ("dolly", {"instruction": "Q", "response": " [1][2]"}, "field 'response' is empty once citation markers"),
        ("dolly", [], "expected a JSON object, got array"),
        ("chip2", {"text": "no markers here"}, "no turn markers"),
        ("chip2", {"text": None}, "field 'text' must be a string, got null"),
        ("chip2", 12, "expected a string or an object with 'text', got number"),
        ("chip2", "Intro\nUser: Hi\n\nChip2: Hello", "text before the first turn marker: 'Intro'"),
        ("chip2", "User: Hi\n\nChip2: ", "empty assistant message (message 1)"),
        ("chip2", "Chip2: Hello<|endoftext|>", "the first turn is the assistant's"),
        ("ru_turbo_alpaca", {"instruction": "Q", "input": "", "output": None}, "missing field 'output'"),
        ("ru_turbo_saiga", {"seed": "x"}, "missing field 'messages' (keys: seed)"),
        (
            "ru_turbo_saiga",
            {"messages": {"role": ["user"], "content": ["a", "b"]}},
            "'messages' has 1 roles but 2 contents",
        ),
        ("ru_turbo_saiga", {"messages": {"role": "user"}}, "'messages' must have 'role' and 'content' lists"),
        (
            "ru_sharegpt_cleaned",
            {"messages": {"role": ["user", "gpt4"], "content": ["a", "b"]}},
            "message 1 has unknown role 'gpt4'",
        ),
        (
            "oasst1_ru_main_branch",
            {"messages": {"role": ["bot"], "content": ["a"]}},
            "the first turn is the assistant's",
        ),
        (
            "gpt_roleplay_realm",
            {"name": "X", "context": "Y", "dialogues": []},
            "field 'dialogues' must be a non-empty list",
        ),
        (
            "gpt_roleplay_realm",
            {"name": "X", "context": "Y", "dialogues": [{"chat": [{"role": "user", "content": ""}]}]},
            "dialogue 0: empty user message (message 0)",
        ),
        (
            "gpt_roleplay_realm",
            {"name": "X", "context": "Y", "dialogues": ["hi"]},
            "dialogue 0 must be an object with 'chat'",
        ),
        ("gpt_roleplay_realm", {"context": "Y", "dialogues": []}, "missing field 'name'"),
        ("ru_turbo_alpaca_evol_instruct", {"instruction": "Q"}, "missing field 'output'"),
        (
            "ru_instruct_gpt4",
            {"instruction": "Q", "input": "", "output": "A", "full_output": ""},
            "field 'full_output' is empty",
        ),
    ],
)
def test_builders_reject_with_a_reason(name: str, record: Any, reason: str, tmp_path: Path) -> None:
    assert reason_of(name, record, tmp_path).startswith(reason)


def test_undecodable_lines_are_rejects_with_line_numbers(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "mixed.jsonl", [GOOD, b"{broken", b'{"messages": "\xff\xfe"}', b"", GOOD])
    conversations, rejects, stats = load("file", source)
    assert len(conversations) == 2 and [c.id for c in conversations] == ["file-00000", "file-00001"]
    assert [(r.line, r.reason.split(":")[0]) for r in rejects] == [
        (2, "invalid JSON"),
        (3, "not valid UTF-8 (byte 0xff at column 15)"),
    ]
    assert rejects[1].record == '{"messages": "\\xff\\xfe"}'  # kept, escaped, for the rejects file
    assert stats.rows == 4 and stats.rejected == 2


def test_a_bad_json_array_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_bytes(b'[{"instruction": "\xff"}]')
    with pytest.raises(RuLLMError, match="bad.json: not a valid UTF-8 JSON file"):
        load("file", tmp_path / "bad.json")
    (tmp_path / "obj.json").write_text('{"instruction": "x"}')
    with pytest.raises(RuLLMError, match="expected a JSON array of records, got dict"):
        load("file", tmp_path / "obj.json")
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(RuLLMError, match="unsupported file type"):
        load("file", tmp_path / "data.csv")


ONE_TO_ONE = {
    "file": (GOOD, {"messages": [{"role": "user", "content": ""}]}),
    "dolly": ({"instruction": "Q", "context": "C", "response": "A", "category": "open_qa"}, {"instruction": "Q"}),
    "chip2": ({"text": "<human>: Hi\n<bot>: Hello"}, {"text": "<bot>: Hello"}),
    "ru_turbo_alpaca": ({"instruction": "Q", "input": "", "output": "A", "alternative_output": "B"}, {"output": "A"}),
    "ru_turbo_saiga": ({"messages": {"role": ["user", "bot"], "content": ["Q", "A"]}}, {"messages": None}),
    "ru_sharegpt_cleaned": (
        {"messages": [{"role": "user", "content": "Q"}, {"role": "bot", "content": "A"}]},
        {"id": 1},
    ),
    "oasst1_ru_main_branch": ({"messages": {"role": ["user", "bot"], "content": ["Q", "A"]}}, {"messages": []}),
    "ru_turbo_alpaca_evol_instruct": ({"instruction": "Q", "output": "A"}, {"instruction": 1, "output": "A"}),
    "ru_instruct_gpt4": ({"instruction": "Q", "input": "I", "output": "A", "full_output": "AA"}, {"full_output": "A"}),
}


@pytest.mark.parametrize("name", sorted(ONE_TO_ONE))
def test_records_in_equal_conversations_out_plus_rejected(name: str, tmp_path: Path) -> None:
    good, bad = ONE_TO_ONE[name]
    lines: list[Any] = []
    for i in range(30):
        lines.append(bad if i % 4 == 1 else good)
        if i % 7 == 3:
            lines.append(b"[not json" if i % 2 else b"\xc3\x28")
    source = write_lines(tmp_path / f"{name}.jsonl", lines)
    with RejectsWriter(tmp_path / "rejects.jsonl") as rejects:
        stats = LoadStats()
        out = list(get_dataset_builder(name).load(source, on_reject=rejects, stats=stats))
    records_in = sum(1 for line in source.read_bytes().splitlines() if line.strip())
    written = list(read_jsonl(tmp_path / "rejects.jsonl"))
    assert records_in == stats.rows == len(out) + len(written) == len(out) + stats.rejected
    assert len(written) == 8 + 4  # every fourth record is bad, and four lines do not decode
    assert all(r["reason"] and r["file"] and r["line"] for r in written)
    assert len({c.id for c in out}) == len(out)
    assert sum(stats.reasons.values()) == stats.rejected
