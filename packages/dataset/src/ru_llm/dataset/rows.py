"""Raw rows from local files: JSONL (optionally .gz), JSON arrays and Parquet, one file or a directory.

Rows keep where they came from (``file:line`` or ``file[row N]``) so every rejection can name it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ru_llm.core.deps import require
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
        pq = require("pyarrow.parquet", purpose=f"reading {file}", package="ru-llm-dataset", extra="parquet")
        parquet = pq.ParquetFile(file)
        decoders = {f.name: decode for f in parquet.schema_arrow if (decode := _json_decoder(f.type, f.metadata))}
        i = 0
        for batch in parquet.iter_batches(batch_size=4096):
            for obj in batch.to_pylist():
                location = f"{file}[row {i}]"
                i += 1
                try:  # JSON columns (our exports' meta) come back as the objects that were written
                    for name, decode in decoders.items():
                        obj[name] = decode(obj[name])
                except ValueError as e:
                    reason = f"column {name!r} is not valid JSON: {e}"
                    on_reject(Reject(reason, file=str(file), record_id=_text_id(obj.get("id")), record=obj))
                    continue
                yield location, None, obj


def _json_decoder(arrow_type: Any, metadata: Any = None) -> Callable[[Any], Any] | None:
    """A function decoding the JSON text inside values of ``arrow_type``, or None if it holds none.

    JSON text is a column of Arrow's ``arrow.json`` type (Parquet's JSON logical type) or a string
    column marked ``ru_llm.encoding: json``; inside structs and lists too (``datasets`` writes a
    field whose values differ in type as JSON).
    """
    import pyarrow as pa

    json_type = getattr(pa, "JsonType", None)
    if (json_type is not None and isinstance(arrow_type, json_type)) or (metadata or {}).get(
        b"ru_llm.encoding"
    ) == b"json":
        return lambda value: json.loads(value) if isinstance(value, str) else value
    if pa.types.is_struct(arrow_type):
        fields = {f.name: d for f in arrow_type if (d := _json_decoder(f.type, f.metadata))}
        if not fields:
            return None
        return lambda value: value if value is None else {**value, **{k: d(value[k]) for k, d in fields.items()}}
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        item = _json_decoder(arrow_type.value_type, arrow_type.value_field.metadata)
        if item is None:
            return None
        return lambda value: value if value is None else [item(v) for v in value]
    return None


def _text_id(value: object) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value)
    return None
