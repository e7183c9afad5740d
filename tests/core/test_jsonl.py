"""Tests for ru_llm.core.jsonl: streaming reads, rejects, and atomic writes."""

from __future__ import annotations

import gzip
import json
import os
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ru_llm.core.conversation import Conversation, conversation
from ru_llm.core.errors import RecordError, RuLLMError
from ru_llm.core.jsonl import (
    JsonlReader,
    JsonlWriter,
    ReadStats,
    Reject,
    RejectsWriter,
    atomic_open,
    read_conversations,
    read_jsonl,
    write_jsonl,
)

BOM = b"\xef\xbb\xbf"


def conv_record(record_id: str, text: str = "Привет", **extra: Any) -> dict[str, Any]:
    return {"id": record_id, "messages": [{"role": "user", "content": text}], **extra}


def line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"


def write_bytes(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def read_lines(path: Path) -> list[Any]:
    return [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()]


def leftovers(directory: Path, keep: set[str]) -> list[str]:
    """Names in ``directory`` other than ``keep`` (temp files an atomic write must not leave)."""
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


class Boom(Exception):
    pass


# --- reading: streaming ---------------------------------------------------------------------------


def test_read_jsonl_yields_decoded_values(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl", line({"текст": "Привет"}), line([1, 2]), line("строка"), line(3))
    assert list(read_jsonl(path)) == [{"текст": "Привет"}, [1, 2], "строка", 3]


def test_reader_returns_an_iterator_not_a_list(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl", line({"n": 1}), line({"n": 2}))
    reader = read_jsonl(path)
    assert isinstance(reader, JsonlReader)
    iterator = iter(reader)
    assert isinstance(iterator, Iterator)
    assert next(iterator) == {"n": 1}
    assert next(iterator) == {"n": 2}
    with pytest.raises(StopIteration):
        next(iterator)


def test_reading_is_lazy_until_iterated(tmp_path: Path) -> None:
    path = tmp_path / "later.jsonl"
    reader = read_jsonl(path)  # the file does not exist yet: nothing is opened here
    write_bytes(path, line({"n": 1}))
    assert list(reader) == [{"n": 1}]


def test_strict_reader_yields_good_lines_before_the_bad_one(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl", line({"n": 1}), line({"n": 2}), b"{not json\n", line({"n": 4}))
    iterator = iter(read_jsonl(path))
    assert next(iterator) == {"n": 1}
    assert next(iterator) == {"n": 2}
    with pytest.raises(RecordError, match=r":3: invalid JSON"):
        next(iterator)


def test_read_conversations_yields_conversations(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path / "c.jsonl",
        line(conv_record("a", "Привет", lang="ru")),
        line(
            {
                "id": 2,
                "messages": [{"role": "human", "content": "Как дела?"}, {"role": "bot", "content": "Хорошо"}],
            }
        ),
    )
    convs = list(read_conversations(path))
    assert all(isinstance(c, Conversation) for c in convs)
    assert [c.id for c in convs] == ["a", "2"]
    assert convs[0].lang == "ru"
    assert [m.role for m in convs[1].messages] == ["user", "assistant"]


def test_reads_gzip_files(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(line(conv_record("gz-1", "Сжатый текст")))
    [conv] = read_conversations(path)
    assert conv.messages[0].content == "Сжатый текст"


def test_crlf_line_endings_are_read(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl", b'{"n": 1}\r\n', b'{"n": 2}\r\n')
    assert list(read_jsonl(path)) == [{"n": 1}, {"n": 2}]


def test_last_line_without_newline_is_read(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl", b'{"n": 1}\n{"n": 2}')
    assert list(read_jsonl(path)) == [{"n": 1}, {"n": 2}]


def test_empty_file_yields_nothing(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "empty.jsonl")
    reader = read_jsonl(path)
    assert list(reader) == []
    assert reader.stats == ReadStats()


# --- reading: strict errors -----------------------------------------------------------------------


def test_strict_invalid_json_raises_with_file_and_line(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bad.jsonl", line({"n": 1}), b'{"n": 2,}\n')
    with pytest.raises(RecordError) as info:
        list(read_jsonl(path))
    error = info.value
    assert error.location == f"{path}:2"
    assert str(error).startswith(f"{path}:2: invalid JSON")
    assert "column" in error.reason
    assert error.record_id is None


def test_strict_non_utf8_raises_with_file_and_line(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "cp1251.jsonl", line({"n": 1}), '{"text": "Привет"}\n'.encode("cp1251"))
    with pytest.raises(RecordError) as info:
        list(read_jsonl(path))
    error = info.value
    assert error.location == f"{path}:2"
    assert "not valid UTF-8" in error.reason
    # 'П' in cp1251 is 0xcf, the first byte after '{"text": "' (column 11).
    assert "byte 0xcf at column 11" in error.reason


def test_strict_schema_error_raises_with_file_line_and_id(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path / "c.jsonl",
        line(conv_record("ok-1")),
        line({"id": "bad-2", "messages": [{"role": "narrator", "content": "Жили-были"}]}),
    )
    with pytest.raises(RecordError) as info:
        list(read_conversations(path))
    error = info.value
    assert error.location == f"{path}:2"
    assert error.record_id == "bad-2"
    assert str(error) == f"{path}:2: record 'bad-2': message 0 has unknown role 'narrator'"


def test_strict_is_the_default(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bad.jsonl", b"nope\n")
    with pytest.raises(RecordError):
        list(read_jsonl(path))


def test_record_error_is_a_rullm_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bad.jsonl", b"nope\n")
    with pytest.raises(RuLLMError):
        list(read_jsonl(path))


# --- reading: blank lines and BOM -----------------------------------------------------------------


def test_blank_lines_are_skipped_and_not_counted(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl", b"\n", line({"n": 1}), b"   \n", b"\t\r\n", line({"n": 2}), b"\n", b"\n")
    reader = read_jsonl(path)
    assert list(reader) == [{"n": 1}, {"n": 2}]
    assert reader.stats.records == 2
    assert reader.stats.ok == 2
    assert reader.stats.rejected == 0


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl", b"\n", line({"n": 1}), b"\n", b"{oops\n")
    with pytest.raises(RecordError) as info:
        list(read_jsonl(path))
    assert info.value.location == f"{path}:4"


def test_bom_on_first_line_is_tolerated(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bom.jsonl", BOM + line(conv_record("a", "Привет")), line(conv_record("b")))
    convs = list(read_conversations(path))
    assert [c.id for c in convs] == ["a", "b"]


def test_bom_alone_on_first_line_counts_as_blank(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bom.jsonl", BOM + b"\n", line({"n": 1}))
    reader = read_jsonl(path)
    assert list(reader) == [{"n": 1}]
    assert reader.stats.records == 1


def test_bom_on_a_later_line_is_an_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bom.jsonl", line({"n": 1}), BOM + line({"n": 2}))
    with pytest.raises(RecordError) as info:
        list(read_jsonl(path))
    assert info.value.location == f"{path}:2"


# --- reading: lenient mode ------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [read_jsonl, read_conversations])
def test_lenient_without_on_reject_raises_value_error(tmp_path: Path, reader: Any) -> None:
    path = write_bytes(tmp_path / "a.jsonl", line({"n": 1}))
    with pytest.raises(ValueError, match="on_reject"):
        reader(path, strict=False)


def test_lenient_invalid_json_goes_to_on_reject_with_raw_text(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl", line({"n": 1}), b'{"\xd1\x82\xd0\xb5\xd0\xba\xd1\x81\xd1\x82": \r\n')
    rejects: list[Reject] = []
    reader = read_jsonl(path, strict=False, on_reject=rejects.append)
    assert list(reader) == [{"n": 1}]
    [reject] = rejects
    assert reject.reason.startswith("invalid JSON")
    assert reject.file == str(path)
    assert reject.line == 2
    assert reject.record_id is None
    assert reject.record == '{"текст": '  # the raw line, without its line ending


def test_lenient_non_utf8_goes_to_on_reject_with_escaped_text(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl", '{"t": "Да"}\n'.encode("cp1251"))
    rejects: list[Reject] = []
    assert list(read_jsonl(path, strict=False, on_reject=rejects.append)) == []
    [reject] = rejects
    assert reject.reason.startswith("not valid UTF-8")
    assert reject.line == 1
    assert reject.record == '{"t": "\\xc4\\xe0"}'


def test_lenient_schema_error_goes_to_on_reject_with_decoded_record_and_id(tmp_path: Path) -> None:
    bad = {"id": "dolly-7", "messages": [{"role": "user", "content": 5}], "source": "dolly"}
    path = write_bytes(tmp_path / "c.jsonl", line(bad))
    rejects: list[Reject] = []
    assert list(read_conversations(path, strict=False, on_reject=rejects.append)) == []
    [reject] = rejects
    assert reject == Reject(
        reason="message 0 content must be a string, got number",
        file=str(path),
        line=1,
        record_id="dolly-7",
        record=bad,
    )


def test_reject_to_dict() -> None:
    reject = Reject("'messages' is empty", file="data.jsonl", line=3, record_id="x", record={"id": "x"})
    assert reject.to_dict() == {
        "reason": "'messages' is empty",
        "file": "data.jsonl",
        "line": 3,
        "id": "x",
        "record": {"id": "x"},
    }


def test_lenient_stats_count_records_ok_rejected_and_reasons(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path / "c.jsonl",
        line(conv_record("1")),
        b"\n",
        line({"id": "2", "messages": []}),
        b"{broken\n",
        line(conv_record("3")),
        line({"id": "4", "messages": []}),
        b"\xff\xfe\n",
    )
    reader = read_conversations(path, strict=False, on_reject=lambda reject: None)
    assert [c.id for c in reader] == ["1", "3"]
    stats = reader.stats
    assert stats.records == 6
    assert stats.ok == 2
    assert stats.rejected == 4
    assert stats.records == stats.ok + stats.rejected
    assert stats.reasons["'messages' is empty"] == 2
    assert sum(stats.reasons.values()) == stats.rejected
    assert sum(1 for reason in stats.reasons if reason.startswith("invalid JSON")) == 1
    assert sum(1 for reason in stats.reasons if reason.startswith("not valid UTF-8")) == 1


def test_strict_stats_count_lines_read_so_far(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl", line({"n": 1}), line({"n": 2}))
    reader = read_jsonl(path)
    assert reader.stats == ReadStats()
    list(reader)
    assert (reader.stats.records, reader.stats.ok, reader.stats.rejected) == (2, 2, 0)


def test_rejects_writer_writes_every_bad_line(tmp_path: Path) -> None:
    bad_schema = {"id": "r-2", "messages": [{"role": "user", "content": "Привет", "name": "Иван"}]}
    src = write_bytes(
        tmp_path / "in.jsonl",
        line(conv_record("r-1")),
        line(bad_schema),
        b"not json at all\n",
        b'{"id": "r-4", "t": "\xff"}\n',
    )
    rejects_path = tmp_path / "rejects.jsonl"
    with RejectsWriter(rejects_path) as rejects:
        kept = list(read_conversations(src, strict=False, on_reject=rejects))
    assert [c.id for c in kept] == ["r-1"]
    assert rejects.count == 3
    rows = read_lines(rejects_path)
    assert [row["line"] for row in rows] == [2, 3, 4]
    assert all(row["file"] == str(src) for row in rows)
    assert rows[0] == {
        "reason": "message 0 has unknown key 'name'",
        "file": str(src),
        "line": 2,
        "id": "r-2",
        "record": bad_schema,
    }
    assert rows[1]["reason"].startswith("invalid JSON")
    assert rows[1]["id"] is None
    assert rows[1]["record"] == "not json at all"
    assert rows[2]["reason"].startswith("not valid UTF-8")
    assert rows[2]["record"] == '{"id": "r-4", "t": "\\xff"}'
    assert sum(rejects.reasons.values()) == 3
    assert rejects.reasons["message 0 has unknown key 'name'"] == 1


def test_rejects_file_keeps_cyrillic_readable(tmp_path: Path) -> None:
    src = write_bytes(tmp_path / "in.jsonl", line({"id": "к-1", "messages": "Привет"}))
    rejects_path = tmp_path / "rejects.jsonl"
    with RejectsWriter(rejects_path) as rejects:
        list(read_conversations(src, strict=False, on_reject=rejects))
    text = rejects_path.read_text(encoding="utf-8")
    assert '"id":"к-1"' in text
    assert '"record":{"id":"к-1","messages":"Привет"}' in text


def test_mixed_file_loses_nothing(tmp_path: Path) -> None:
    good = [conv_record(f"ok-{i}", f"Вопрос номер {i}") for i in range(20)]
    bad_lines = [
        b"{\n",
        line({"id": "", "messages": [{"role": "user", "content": "x"}]}),
        line({"id": "no-msgs"}),
        line({"id": "role", "messages": [{"role": "нарратор", "content": "x"}]}),
        line({"id": "extra", "messages": [{"role": "user", "content": "x"}], "tags": []}),
        line({"id": "meta", "messages": [{"role": "user", "content": "x"}], "meta": []}),
        line(["not", "an", "object"]),
        "Привет".encode("cp1251") + b"\n",
    ]
    lines: list[bytes] = []
    for i, record in enumerate(good):
        lines.append(line(record))
        if i < len(bad_lines):
            lines.append(bad_lines[i])
        if i % 5 == 0:
            lines.append(b"\n")
    src = write_bytes(tmp_path / "mixed.jsonl", *lines)
    records_in = sum(1 for raw in lines if raw.strip())

    out_path = tmp_path / "out" / "clean.jsonl"
    rejects_path = tmp_path / "out" / "rejects.jsonl"
    with RejectsWriter(rejects_path) as rejects:
        reader = read_conversations(src, strict=False, on_reject=rejects)
        written = write_jsonl(out_path, reader)

    out = read_lines(out_path)
    rejected = read_lines(rejects_path)
    assert records_in == len(good) + len(bad_lines)
    assert records_in == written + rejects.count
    assert len(out) == written == len(good)
    assert len(rejected) == len(bad_lines)
    assert reader.stats.records == records_in
    assert reader.stats.ok == written
    assert reader.stats.rejected == len(rejected)
    assert [row["id"] for row in out] == [r["id"] for r in good]
    assert Counter(row["reason"] for row in rejected) == rejects.reasons == reader.stats.reasons


# --- reading: missing files -----------------------------------------------------------------------


@pytest.mark.parametrize("reader", [read_jsonl, read_conversations])
def test_missing_file_raises_rullm_error(tmp_path: Path, reader: Any) -> None:
    path = tmp_path / "нет-такого.jsonl"
    with pytest.raises(RuLLMError, match="no such file") as info:
        list(reader(path))
    assert str(path) in str(info.value)
    assert info.value.hint is not None


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(RuLLMError, match="no such file"):
        list(read_jsonl(tmp_path))


def test_missing_file_in_lenient_mode_still_raises(tmp_path: Path) -> None:
    rejects: list[Reject] = []
    with pytest.raises(RuLLMError):
        list(read_jsonl(tmp_path / "missing.jsonl", strict=False, on_reject=rejects.append))
    assert rejects == []


# --- reading: bugs --------------------------------------------------------------------------------


def test_lenient_rejects_line_with_huge_integer(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl", line({"n": 1}), b'{"n": ' + b"9" * 5000 + b"}\n")
    rejects: list[Reject] = []
    assert list(read_jsonl(path, strict=False, on_reject=rejects.append)) == [{"n": 1}]
    assert len(rejects) == 1


def test_record_with_escaped_lone_surrogate_is_refused_on_read(tmp_path: Path) -> None:
    src = write_bytes(tmp_path / "in.jsonl", b'{"id": "s-1", "messages": [{"role": "user", "content": "\\ud800"}]}\n')
    expected = r"in.jsonl:1: record 's-1': lone surrogate U\+D800 in messages\[0\]\.content"
    with pytest.raises(RecordError, match=expected):
        list(read_conversations(src))


# --- writing --------------------------------------------------------------------------------------


def test_write_jsonl_returns_count_and_writes_one_line_per_record(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    records = [{"n": i, "текст": f"строка {i}"} for i in range(5)]
    assert write_jsonl(path, records) == 5
    assert read_lines(path) == records


def test_write_jsonl_accepts_a_generator(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    assert write_jsonl(path, ({"n": i} for i in range(3))) == 3
    assert list(read_jsonl(path)) == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_write_jsonl_with_no_records_creates_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    assert write_jsonl(path, []) == 0
    assert path.read_bytes() == b""


def test_write_jsonl_writes_cyrillic_unescaped_utf8(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [{"текст": "Съешь же ещё этих мягких французских булок, да выпей чаю"}])
    data = path.read_bytes()
    assert "Съешь же ещё этих мягких французских булок".encode() in data
    assert "текст".encode() in data
    assert b"\\u" not in data
    assert not data.startswith(BOM)


def test_write_jsonl_uses_lf_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [{"t": "a\r\nb"}, {"t": "в"}])
    data = path.read_bytes()
    assert data.count(b"\n") == 2
    assert b"\r\n" not in data  # the record's own CR LF is escaped inside the JSON string
    assert data.endswith(b"\n")


def test_write_jsonl_writes_conversations_canonically(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    conv = conversation("c-1", [("human", "Привет"), ("bot", "Здравствуйте")], lang="ru")
    assert write_jsonl(path, [conv]) == 1
    [row] = read_lines(path)
    assert row == {
        "id": "c-1",
        "messages": [{"role": "user", "content": "Привет"}, {"role": "assistant", "content": "Здравствуйте"}],
        "source": None,
        "lang": "ru",
        "license": None,
        "meta": {},
    }
    assert list(read_conversations(path)) == [conv]


def test_gzip_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl.gz"
    convs = [conversation(f"gz-{i}", [("user", f"Вопрос {i}"), ("assistant", f"Ответ {i}")]) for i in range(10)]
    assert write_jsonl(path, convs) == 10
    raw = path.read_bytes()
    assert raw[:2] == b"\x1f\x8b"  # it really is gzip
    assert "Вопрос".encode() in gzip.decompress(raw)
    assert list(read_conversations(path)) == convs


def test_gzip_output_is_reproducible(tmp_path: Path) -> None:
    records = [{"n": i, "т": "б"} for i in range(50)]
    write_jsonl(tmp_path / "a.jsonl.gz", records)
    write_jsonl(tmp_path / "b.jsonl.gz", records)
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()


def test_write_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "глубоко" / "вложенная" / "папка" / "out.jsonl"
    assert write_jsonl(path, [{"n": 1}]) == 1
    assert read_lines(path) == [{"n": 1}]


def test_write_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [{"n": i} for i in range(10)])
    write_jsonl(path, [{"n": "new"}])
    assert read_lines(path) == [{"n": "new"}]
    assert leftovers(tmp_path, {"out.jsonl"}) == []


def test_write_accepts_str_path(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    assert write_jsonl(str(path), [{"n": 1}]) == 1
    assert path.exists()


def test_written_file_has_ordinary_permissions(tmp_path: Path) -> None:
    reference = tmp_path / "reference.jsonl"
    reference.write_text("", encoding="utf-8")
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [{"n": 1}])
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)


# --- writing: atomicity ---------------------------------------------------------------------------


def test_exception_in_atomic_open_keeps_previous_content(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"старое": true}\n', encoding="utf-8")
    with pytest.raises(Boom), atomic_open(path) as fh:
        fh.write('{"новое": true}\n')
        fh.flush()
        raise Boom
    assert path.read_text(encoding="utf-8") == '{"старое": true}\n'
    assert leftovers(tmp_path, {"data.jsonl"}) == []


def test_exception_in_atomic_open_creates_no_file(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    with pytest.raises(Boom), atomic_open(path) as fh:
        fh.write("partial")
        raise Boom
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_keyboard_interrupt_in_atomic_open_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt), atomic_open(path) as fh:
        fh.write("new\n")
        raise KeyboardInterrupt
    assert path.read_text(encoding="utf-8") == "old\n"
    assert leftovers(tmp_path, {"data.jsonl"}) == []


def test_exception_in_gzip_atomic_open_keeps_previous_content(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl.gz"
    write_jsonl(path, [{"n": "old"}])
    before = path.read_bytes()
    with pytest.raises(Boom), JsonlWriter(path) as writer:
        writer.write({"n": "new"})
        raise Boom
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"data.jsonl.gz"}) == []


def test_target_is_untouched_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text("old\n", encoding="utf-8")
    with atomic_open(path) as fh:
        fh.write("new\n")
        fh.flush()
        assert path.read_text(encoding="utf-8") == "old\n"
        temps = leftovers(tmp_path, {"data.jsonl"})
        assert len(temps) == 1
        assert temps[0].startswith(".data.jsonl.")
        assert temps[0].endswith(".tmp")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert leftovers(tmp_path, {"data.jsonl"}) == []


def test_atomic_open_writes_utf8_text(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    with atomic_open(path) as fh:
        fh.write("Привет\nмир\n")
    assert path.read_bytes() == "Привет\nмир\n".encode()


def test_atomic_open_gzip(tmp_path: Path) -> None:
    path = tmp_path / "a.txt.gz"
    with atomic_open(path) as fh:
        fh.write("сжатый текст\n")
    assert gzip.decompress(path.read_bytes()).decode("utf-8") == "сжатый текст\n"


def test_exception_inside_jsonl_writer_keeps_previous_content(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    write_jsonl(path, [{"n": 1}, {"n": 2}])
    before = path.read_bytes()
    with pytest.raises(Boom), JsonlWriter(path) as writer:
        for i in range(100):
            writer.write({"n": i, "текст": "x" * 1000})
        raise Boom
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"data.jsonl"}) == []


def test_failing_generator_in_write_jsonl_keeps_previous_content(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    write_jsonl(path, [{"n": "old"}])

    def records() -> Iterator[dict[str, Any]]:
        yield {"n": 1}
        yield {"n": 2}
        raise Boom

    with pytest.raises(Boom):
        write_jsonl(path, records())
    assert read_lines(path) == [{"n": "old"}]
    assert leftovers(tmp_path, {"data.jsonl"}) == []


def test_strict_reader_error_while_writing_keeps_previous_output(tmp_path: Path) -> None:
    src = write_bytes(tmp_path / "in.jsonl", line(conv_record("a")), b"{bad\n")
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n", encoding="utf-8")
    with pytest.raises(RecordError, match=r"in\.jsonl:2"):
        write_jsonl(out, read_conversations(src))
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert leftovers(tmp_path, {"in.jsonl", "out.jsonl"}) == []


def test_unserialisable_record_keeps_previous_content(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    write_jsonl(path, [{"n": "old"}])
    with pytest.raises(TypeError):
        write_jsonl(path, [{"n": 1}, {"bad": object()}])
    assert read_lines(path) == [{"n": "old"}]
    assert leftovers(tmp_path, {"data.jsonl"}) == []


# --- JsonlWriter ----------------------------------------------------------------------------------


def test_jsonl_writer_counts_and_writes(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with JsonlWriter(path) as writer:
        assert writer.count == 0
        writer.write({"n": 1})
        writer.write(conversation("w", [("user", "Привет")]))
        assert writer.count == 2
    rows = read_lines(path)
    assert rows[0] == {"n": 1}
    assert rows[1]["id"] == "w"


def test_jsonl_writer_enter_returns_itself(tmp_path: Path) -> None:
    writer = JsonlWriter(tmp_path / "out.jsonl")
    with writer as entered:
        assert entered is writer


def test_jsonl_writer_write_before_with_raises(tmp_path: Path) -> None:
    writer = JsonlWriter(tmp_path / "out.jsonl")
    with pytest.raises(RuntimeError, match="outside its `with` block"):
        writer.write({"n": 1})
    assert writer.count == 0
    assert list(tmp_path.iterdir()) == []


def test_jsonl_writer_write_after_with_raises(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with JsonlWriter(path) as writer:
        writer.write({"n": 1})
    with pytest.raises(RuntimeError, match="outside its `with` block"):
        writer.write({"n": 2})
    assert read_lines(path) == [{"n": 1}]
    assert writer.count == 1


def test_jsonl_writer_not_entered_creates_nothing(tmp_path: Path) -> None:
    JsonlWriter(tmp_path / "sub" / "out.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_rejects_writer_outside_with_raises(tmp_path: Path) -> None:
    rejects = RejectsWriter(tmp_path / "rejects.jsonl")
    with pytest.raises(RuntimeError):
        rejects(Reject("bad"))


def test_rejects_writer_counts_reasons(tmp_path: Path) -> None:
    path = tmp_path / "rejects.jsonl"
    with RejectsWriter(path) as rejects:
        rejects(Reject("плохо", file="a.jsonl", line=1))
        rejects(Reject("плохо", file="a.jsonl", line=2))
        rejects(Reject("иначе", file="a.jsonl", line=5, record_id="x", record={"id": "x"}))
    assert rejects.count == 3
    assert rejects.reasons == Counter({"плохо": 2, "иначе": 1})
    assert read_lines(path) == [
        {"reason": "плохо", "file": "a.jsonl", "line": 1, "id": None, "record": None},
        {"reason": "плохо", "file": "a.jsonl", "line": 2, "id": None, "record": None},
        {"reason": "иначе", "file": "a.jsonl", "line": 5, "id": "x", "record": {"id": "x"}},
    ]


def test_written_file_reads_back_byte_for_byte_equal_records(tmp_path: Path) -> None:
    records = [
        {"id": "1", "text": "Ёлка, ёжик и щука"},
        {"id": "2", "text": 'кавычки " и обратная \\ косая'},
        {"id": "3", "text": "табуляция\tи\nперевод строки"},
        {"id": "4", "emoji": "🙂", "n": 1.5, "ok": True, "none": None},
    ]
    path = tmp_path / "rt.jsonl"
    write_jsonl(path, records)
    assert list(read_jsonl(path)) == records
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(records)


def test_no_temp_files_after_successful_writes(tmp_path: Path) -> None:
    for name in ("a.jsonl", "b.jsonl.gz"):
        write_jsonl(tmp_path / name, [{"n": 1}])
    assert sorted(os.listdir(tmp_path)) == ["a.jsonl", "b.jsonl.gz"]


def test_damaged_gzip_is_a_clear_error(tmp_path: Path) -> None:
    import gzip

    good = gzip.compress(b'{"a": 1}\n' * 1000)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(RuLLMError, match=r"cut.jsonl.gz: cannot read the file"):
        list(read_jsonl(path))
