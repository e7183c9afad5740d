"""ru_llm.core.cache: where caches live, and the append-only JSONL cache after a kill cut its last line."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from ru_llm.core.cache import JsonlCache, cache_root


def test_cache_root_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RU_LLM_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "ru-llm"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == tmp_path / "home" / ".cache" / "ru-llm"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # the XDG specification: ignored
    assert cache_root() == tmp_path / "home" / ".cache" / "ru-llm"
    monkeypatch.setenv("RU_LLM_CACHE_DIR", str(tmp_path / "mine"))  # the user's own choice wins
    assert cache_root() == tmp_path / "mine"


def test_a_cut_line_is_skipped_and_the_next_record_starts_a_line_of_its_own(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sub" / "answers.jsonl"
    first = JsonlCache(path)
    assert len(first) == 0 and not path.exists()
    first.put("a", {"answer": "один"})
    first.put("b", {"answer": "два"})
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"key": "c", "value": {"answer": "\xd1')  # a kill inside a two-byte letter

    caplog.set_level(logging.WARNING)
    second = JsonlCache(path)
    assert second.get("a") == {"answer": "один"} and second.get("b") == {"answer": "два"} and second.get("c") is None
    assert second.skipped == 1
    assert f"{path}:3: skipped 1 cut or unreadable line(s)" in caplog.text
    second.put("c", {"answer": "три"})  # made again, on a line of its own
    second.put("d", {"answer": "четыре"})

    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and lines[2].startswith(b'{"key": "c", "value": {"answer": "\xd1') and len(lines) == 6
    third = JsonlCache(path)
    assert {k: third.get(k) for k in "abcd"} == {"a": {"answer": "один"}, "b": {"answer": "два"},
                                                  "c": {"answer": "три"}, "d": {"answer": "четыре"}}  # fmt: skip
    assert third.skipped == 1


def test_a_last_line_without_its_newline_is_still_read_and_not_glued_to(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"key": "a", "value": 1}', encoding="utf-8")  # killed between the record and its newline
    cache = JsonlCache(path)
    assert cache.get("a") == 1 and cache.skipped == 0
    cache.put("b", 2)
    assert path.read_text(encoding="utf-8") == '{"key": "a", "value": 1}\n{"key": "b", "value": 2}\n'


def test_lines_of_another_shape_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('[1, 2]\n{"key": "a"}\nnot json\n\n{"key": "b", "value": null}\n', encoding="utf-8")
    cache = JsonlCache(path)
    assert cache.skipped == 3 and cache.entries == {"b": None}


def test_a_custom_field_and_index(tmp_path: Path) -> None:
    """The shape of eval's per-item records: ``{"key": settings, "record": {"id": ...}}`` found by both."""
    path = tmp_path / "r.partial.jsonl"
    cache = JsonlCache(path, field="record", index=lambda e: (e["key"], e["record"]["id"]))
    cache.put("k1", {"id": "q1", "score": 1})
    cache.put("k1", {"id": "q2", "score": 0})
    cache.put("k2", {"id": "q1", "score": 0.5})
    again = JsonlCache(path, field="record", index=lambda e: (e["key"], e["record"]["id"]))
    assert again.get(("k1", "q2")) == {"id": "q2", "score": 0} and again.get(("k2", "q1"))["score"] == 0.5
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0]) == {
        "key": "k1",
        "record": {"id": "q1", "score": 1},
    }


def test_threads_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    cache = JsonlCache(path)

    def write(n: int) -> None:
        for i in range(50):
            cache.put(f"{n}-{i}", {"text": "x" * 5000})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    again = JsonlCache(path)
    assert len(again) == 200 and again.skipped == 0
