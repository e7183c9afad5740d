"""Raw rows from local files, and streaming: a large source is converted lazily in flat memory."""

from __future__ import annotations

import gzip
import inspect
import json
import tracemalloc
from pathlib import Path

import pytest

from ru_llm.core.errors import RuLLMError
from ru_llm.core.jsonl import Reject
from ru_llm.dataset import get_dataset_builder
from ru_llm.dataset.builders import LoadStats
from ru_llm.dataset.rows import read_rows, source_files


def rows_of(path: Path) -> tuple[list, list[Reject]]:
    rejects: list[Reject] = []
    return list(read_rows(path, rejects.append)), rejects


def test_jsonl_gz_json_and_parquet_rows_keep_their_location(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "a.jsonl").write_text('\ufeff{"n": 1}\n\n{"n": 2}\n', encoding="utf-8")  # BOM and a blank line
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write('{"n": 3}\n')
    (tmp_path / "c.json").write_text(json.dumps([{"n": 4}, "five"]), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist([{"n": 6}, {"n": 7}]), tmp_path / "d.parquet")
    (tmp_path / "notes.txt").write_text("ignored")
    rows, rejects = rows_of(tmp_path)
    assert rejects == []
    assert [r.record for r in rows] == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}, "five", {"n": 6}, {"n": 7}]
    assert [r.index for r in rows] == list(range(7))
    assert [r.line for r in rows[:3]] == [1, 3, 1]
    assert rows[1].location.endswith("a.jsonl:3")
    assert rows[4].location.endswith("c.json[1]") and rows[4].line is None
    assert rows[6].location.endswith("d.parquet[row 1]")


def test_source_files_errors(tmp_path: Path) -> None:
    with pytest.raises(RuLLMError, match="no .jsonl, .jsonl.gz, .json, .parquet files"):
        source_files(tmp_path)
    (tmp_path / "x.tsv").write_text("")
    with pytest.raises(RuLLMError, match="unsupported file type"):
        source_files(tmp_path / "x.tsv")


def test_truncated_gzip_is_a_clear_error(tmp_path: Path) -> None:
    data = gzip.compress(b'{"n": 1}\n' * 1000)
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuLLMError, match="cannot read the file"):
        rows_of(tmp_path / "cut.jsonl.gz")


def _write_alpaca(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(
                json.dumps(
                    {"instruction": f"Задание номер {i}: " + "текст " * 8, "input": "", "output": f"Ответ {i}"},
                    ensure_ascii=False,
                )
                + "\n"
            )
    return path


def _peak_while_consuming(path: Path) -> tuple[int, int]:
    builder = get_dataset_builder("file")
    stats = LoadStats()
    conversations = builder.load(path, on_reject=lambda r: None, stats=stats)
    assert inspect.isgenerator(conversations)
    tracemalloc.start()
    count = 0
    for _ in conversations:
        count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert stats.rows == count and stats.rejected == 0
    return count, peak


@pytest.mark.slow
def test_a_large_file_streams_in_flat_memory(tmp_path: Path) -> None:
    """Both files peak at ~15 KB while converting. The bounds catch anything kept per row: the absolute one
    anything of 25 bytes or more a row (a kept conversation is hundreds), the relative one 6 bytes a row
    over the 18,000 extra rows (with 50,000 and 5,000 rows and bounds of 2 MB and 200 KB, 40 and 5)."""
    small = _write_alpaca(tmp_path / "small.jsonl", 2_000)
    large = _write_alpaca(tmp_path / "large.jsonl", 20_000)
    assert large.stat().st_size > 3_000_000
    count_small, peak_small = _peak_while_consuming(small)
    count_large, peak_large = _peak_while_consuming(large)
    assert (count_small, count_large) == (2_000, 20_000)
    assert peak_large < 500_000  # a seventh of the file's size: nothing accumulates
    assert peak_large < 2 * peak_small + 80_000  # ten times the rows, about the same memory


def test_conversion_is_lazy(tmp_path: Path) -> None:
    """The first conversation comes before later rows are read: a bad row at the end is not seen yet."""
    path = _write_alpaca(tmp_path / "data.jsonl", 10)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("{broken\n")
    rejects: list[Reject] = []
    conversations = get_dataset_builder("file").load(path, on_reject=rejects.append)
    next(conversations)
    assert rejects == []
    assert len(list(conversations)) == 9 and len(rejects) == 1
