"""Raw rows from local files: JSONL (optionally .gz), JSON arrays and Parquet, one file or a directory.

Rows keep where they came from (``file:line`` or ``file[row N]``) so every rejection can name it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ru_llm.core.errors import RuLLMError
from ru_llm.core.jsonl import JsonlReader, Reject, record_problem

SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".parquet")


@dataclass(frozen=True)
class Row:
    """One raw source record and where it came from."""

    location: str  # "data.jsonl:12", "data.parquet[row 3]", "org/name[12]"
    index: int  # 0-based position in the whole source, for stable ids
    record: Any
    file: str | None = None
    line: int | None = None


def _supported(path: Path) -> bool:
    return path.name.endswith(SUFFIXES)


def source_files(path: Path) -> list[Path]:
    """The data files of a source: the file itself, or a directory's supported files, sorted."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and _supported(p))
        if not files:
            raise RuLLMError(f"{path}: no {', '.join(SUFFIXES)} files in this directory")
        return files
    if not _supported(path):
        raise RuLLMError(f"{path}: unsupported file type", hint=f"use one of {', '.join(SUFFIXES)}")
    return [path]


def read_rows(path: Path, on_reject: Callable[[Reject], object]) -> Iterator[Row]:
    """Every row of every file of ``path``; undecodable JSONL lines go to ``on_reject``."""
    index = 0
    for file in source_files(path):
        for location, line, record in _file_rows(file, on_reject):
            yield Row(location, index, record, file=str(file), line=line)
            index += 1


def _file_rows(file: Path, on_reject: Callable[[Reject], object]) -> Iterator[tuple[str, int | None, Any]]:
    name = file.name
    if name.endswith((".jsonl", ".jsonl.gz")):
        reader = JsonlReader(file, lambda obj, *, location: (location, obj), strict=False, on_reject=on_reject)
        for location, obj in reader:
            yield location, int(location.rsplit(":", 1)[1]), obj
    elif name.endswith(".json"):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise RuLLMError(f"{file}: not a valid UTF-8 JSON file: {e}", hint="use JSONL for line-level errors") from e
        except RecursionError:
            raise RuLLMError(
                f"{file}: nested too deeply to parse", hint="use JSONL, where such a record is one reject"
            ) from None
        if not isinstance(data, list):
            raise RuLLMError(f"{file}: expected a JSON array of records, got {type(data).__name__}")
        for i, obj in enumerate(data):
            # The checks JSONL reading makes on every line (depth, lone surrogates), record by record.
            problem = record_problem(obj)
            if problem is not None:
                record_id = _text_id(obj.get("id")) if isinstance(obj, dict) else None
                try:  # as JSONL reading does: the record as (escaped) JSON text, which any reader accepts
                    stored: Any = json.dumps(obj)
                except RecursionError:
                    stored = None
                on_reject(Reject(problem, file=str(file), record_id=record_id, record=stored))
                continue
            yield f"{file}[{i}]", None, obj
    else:
        import pyarrow.parquet as pq

        i = 0
        for batch in pq.ParquetFile(file).iter_batches(batch_size=4096):
            for obj in batch.to_pylist():
                yield f"{file}[row {i}]", None, obj
                i += 1


def _text_id(value: object) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value)
    return None
