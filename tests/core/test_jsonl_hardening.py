"""Issue 13 (hardening): JSONL reading rejects what no later stage could handle, one line at a time.

A line nested deeper than ``MAX_DEPTH`` used to abort a whole lenient read (or the rejects writer)
with ``RecursionError``; a lone surrogate (``"\\ud800"``) used to be accepted and break tokenizing,
printing and Parquet downstream. Both are now one reject with a reason (strict: a ``RecordError``
naming ``file:line`` and the record id), and the rest of the file is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ru_llm.core import RecordError, read_conversations, read_jsonl
from ru_llm.core import jsonl as jsonl_module
from ru_llm.core.jsonl import MAX_DEPTH, Reject, RejectsWriter, record_problem, to_json_line

GOOD = b'{"id": "ok", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
DEEP = b'{"id":"x","messages":' + b"[" * 1000 + b"]" * 1000 + b"}\n"
LONE = b'{"id": "s-1", "messages": [{"role": "user", "content": "a\\ud800b"}, {"role": "assistant", "content": "c"}]}\n'
PAIR = b'{"id": "emoji", "messages": [{"role": "user", "content": "\\ud83d\\ude00"}, {"role": "assistant", "content": "c"}]}\n'  # noqa: E501


@pytest.fixture(params=["orjson", "json"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with orjson (the fast path) and with the standard library only (core alone)."""
    if request.param == "json":
        monkeypatch.setattr(jsonl_module, "orjson", None)
    return request.param


def write(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def lenient(path: Path) -> tuple[list, list[Reject]]:
    rejects: list[Reject] = []
    reader = read_conversations(path, strict=False, on_reject=rejects.append)
    convs = list(reader)
    assert reader.stats.records == len(convs) + len(rejects), "records in = records out + records rejected"
    return convs, rejects


# -- nesting -----------------------------------------------------------------------------------------
def test_a_deeply_nested_line_is_one_reject_and_the_rest_is_read(tmp_path: Path, parser: str) -> None:
    src = write(tmp_path / "in.jsonl", GOOD, DEEP, GOOD.replace(b'"ok"', b'"ok2"'))
    convs, rejects = lenient(src)
    assert [c.id for c in convs] == ["ok", "ok2"]
    [reject] = rejects
    assert reject.reason == f"nested more than {MAX_DEPTH} levels deep"
    assert (reject.line, reject.record_id) == (2, "x")
    assert reject.record == DEEP.decode().rstrip("\n"), "the line is kept as text, which any writer can write"


def test_a_deeply_nested_line_can_be_written_to_a_rejects_file(tmp_path: Path, parser: str) -> None:
    src = write(tmp_path / "in.jsonl", DEEP, GOOD)
    with RejectsWriter(tmp_path / "rejects.jsonl") as rejects:
        convs = list(read_conversations(src, strict=False, on_reject=rejects))
    assert [c.id for c in convs] == ["ok"]
    [line] = list(read_jsonl(tmp_path / "rejects.jsonl"))
    assert line["reason"].startswith("nested more than") and line["line"] == 1


def test_strict_reading_names_file_line_and_id_of_a_deep_line(tmp_path: Path, parser: str) -> None:
    src = write(tmp_path / "in.jsonl", GOOD, DEEP)
    with pytest.raises(RecordError, match=rf"in.jsonl:2: record 'x': nested more than {MAX_DEPTH} levels deep"):
        list(read_conversations(src))


def test_nesting_up_to_the_limit_is_read_and_written_back(tmp_path: Path, parser: str) -> None:
    meta: object = "leaf"
    for _ in range(MAX_DEPTH - 2):  # the record is level 1, its meta level 2
        meta = [meta]
    record = {"id": "d", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
              "meta": {"deep": meta}}  # fmt: skip
    src = write(tmp_path / "in.jsonl", json.dumps(record).encode() + b"\n")
    [conv] = read_conversations(src)
    assert conv.meta == {"deep": meta}
    assert json.loads(to_json_line(conv))["meta"] == {"deep": meta}


def test_a_too_deep_record_made_in_code_is_a_record_error_when_written(tmp_path: Path) -> None:
    value: object = []
    for _ in range(5000):
        value = [value]
    with pytest.raises(RecordError, match="record 'z': nested more than"):
        to_json_line({"id": "z", "meta": value})
    with RejectsWriter(tmp_path / "rejects.jsonl") as rejects:
        rejects(Reject("why", record_id="z", record={"id": "z", "meta": value}))
    [line] = list(read_jsonl(tmp_path / "rejects.jsonl"))
    assert line["reason"] == "why" and line["id"] == "z" and line["record"].startswith("(not stored: nested")


# -- lone surrogates ---------------------------------------------------------------------------------
def test_a_lone_surrogate_is_rejected_with_where_it_is(tmp_path: Path, parser: str) -> None:
    src = write(tmp_path / "in.jsonl", GOOD, LONE, PAIR)
    convs, rejects = lenient(src)
    assert [c.id for c in convs] == ["ok", "emoji"]
    assert convs[1].messages[0].content == "\U0001f600", "a surrogate pair is one character, not a problem"
    [reject] = rejects
    assert (
        reject.reason == "lone surrogate U+D800 in messages[0].content: an unpaired \\ud800 escape is not Unicode text"
    )
    assert (reject.line, reject.record_id) == (2, "s-1")
    assert reject.record == LONE.decode().rstrip("\n"), "kept as the line's text: it stays valid UTF-8"


def test_strict_reading_names_file_line_and_id_of_a_lone_surrogate(tmp_path: Path, parser: str) -> None:
    src = write(tmp_path / "in.jsonl", GOOD, LONE)
    with pytest.raises(RecordError, match=r"in.jsonl:2: record 's-1': lone surrogate U\+D800 in messages\[0\]"):
        list(read_conversations(src))


@pytest.mark.parametrize(
    ("line", "where"),
    [
        (b'{"id": "k", "meta": {"\\udc00": 1}}', "a key of meta"),
        (b'{"id": "k", "meta": {"a": ["x", "\\udfff"]}}', "meta.a[1]"),  # a low half alone
        (b'"\\ud83d"', None),  # a top-level string
    ],
)
def test_lone_surrogates_anywhere_in_any_json_line(tmp_path: Path, parser: str, line: bytes, where: str | None) -> None:
    rejects: list[Reject] = []
    src = write(tmp_path / "in.jsonl", line + b"\n", b'{"fine": "\\\\ud800 is only text here"}\n')
    values = list(read_jsonl(src, strict=False, on_reject=rejects.append))
    assert values == [{"fine": "\\ud800 is only text here"}]
    [reject] = rejects
    assert reject.reason.startswith("lone surrogate U+D")
    assert (f" in {where}:" in reject.reason) if where else " in " not in reject.reason
    reject.reason.encode("utf-8")  # the reason itself is printable text
    with RejectsWriter(tmp_path / "rejects.jsonl") as writer:
        writer(reject)
    [written] = read_jsonl(tmp_path / "rejects.jsonl")
    assert written["reason"] == reject.reason


def test_record_problem() -> None:
    assert record_problem({"id": "a", "messages": [{"content": "Привет 😀"}]}) is None
    assert record_problem({"a": ["\ud800"]}) == (
        "lone surrogate U+D800 in a[0]: an unpaired \\ud800 escape is not Unicode text"
    )
    deep: object = 1
    for _ in range(MAX_DEPTH):
        deep = [deep]
    assert record_problem(deep) is None
    assert record_problem([deep]) == f"nested more than {MAX_DEPTH} levels deep"


def test_an_id_with_a_lone_surrogate_is_named_escaped(tmp_path: Path, parser: str) -> None:
    src = write(tmp_path / "in.jsonl", b'{"id": "a\\udc00", "messages": []}\n')
    with pytest.raises(RecordError) as caught:
        list(read_conversations(src))
    assert "record 'a\\\\udc00': lone surrogate U+DC00 in id" in str(caught.value)
    str(caught.value).encode("utf-8")  # printable
