"""Optional exports of a built dataset: Parquet files, ``save_to_disk``, ``push_to_hub``.

The columns are fixed: ``id``, ``messages`` (a list of ``{role, content}``), ``source``, ``lang``,
``license``, ``commercial`` (the licence stamp, a boolean; null for a record without one) and ``meta``.
``meta`` is a JSON column (Parquet's JSON logical type, Arrow's ``arrow.json``), one JSON object per
row, because its values differ in type from record to record (``"qa"`` in one, ``3`` or a list in the
next): letting Arrow infer a struct for it would turn such values into JSON strings (``"qa"`` into
``"\"qa\""``) and add every key of every record to every row.
Our reader (``ru_llm.dataset.rows``, hence ``--source x.parquet``) and ``datasets`` decode it back
into the same objects. A preference dataset (pairs, see :mod:`ru_llm.dataset.preference`) has two more
string columns after ``messages``: ``chosen`` and ``rejected``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ru_llm.core.deps import require, require_datasets
from ru_llm.core.errors import RuLLMError
from ru_llm.core.jsonl import read_conversations
from ru_llm.dataset.preference import is_preference_file, read_preferences

SPLITS = ("train", "validation")
JSON_COLUMNS = ("meta",)
#: Arrow field metadata marking a column as JSON text (with pyarrow versions that lack ``pa.json_``).
JSON_FIELD_METADATA = {b"ru_llm.encoding": b"json"}
_BATCH = 4096


def parquet_schema(*, preference: bool = False) -> Any:
    """The Arrow schema of an exported split (of preference pairs with ``preference``)."""
    import pyarrow as pa

    json_type = pa.json_(pa.string()) if hasattr(pa, "json_") else pa.string()
    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    replies = [pa.field(key, pa.string(), nullable=False) for key in ("chosen", "rejected")] if preference else []
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("messages", pa.list_(message), nullable=False),
            *replies,
            pa.field("source", pa.string()),
            pa.field("lang", pa.string()),
            pa.field("license", pa.string()),
            pa.field("commercial", pa.bool_()),
            pa.field("meta", json_type, nullable=False, metadata=JSON_FIELD_METADATA),
        ]
    )


def _row(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, **{k: json.dumps(record[k], ensure_ascii=False, separators=(",", ":")) for k in JSON_COLUMNS}}


def _batches(jsonl: Path, *, preference: bool = False) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for conversation in read_preferences(jsonl) if preference else read_conversations(jsonl):
        batch.append(_row(conversation.to_dict()))
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _splits(out_dir: Path) -> list[str]:
    splits = [s for s in SPLITS if (out_dir / f"{s}.jsonl").stat().st_size > 0]
    if not splits:
        raise RuLLMError(f"{out_dir}: both splits are empty, nothing to export")
    return splits


def write_parquet(jsonl: Path, target: Path) -> Path:
    """One split's conversations as Parquet (streamed in batches; the file appears when complete)."""
    pq = require("pyarrow.parquet", purpose="writing Parquet", package="ru-llm-dataset", extra="parquet")
    import pyarrow as pa

    preference = is_preference_file(jsonl)
    schema = parquet_schema(preference=preference)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with pq.ParquetWriter(tmp_name, schema) as writer:
            for batch in _batches(jsonl, preference=preference):
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def to_parquet(out_dir: Path) -> list[Path]:
    """Write ``<split>.parquet`` beside each non-empty ``<split>.jsonl``."""
    return [write_parquet(out_dir / f"{s}.jsonl", out_dir / f"{s}.parquet") for s in _splits(out_dir)]


def _dataset_dict(out_dir: Path) -> Any:
    """The splits as a ``datasets.DatasetDict``, through the same Parquet files (``meta`` as JSON)."""
    datasets = require_datasets("exporting a datasets.DatasetDict")

    splits = _splits(out_dir)
    with tempfile.TemporaryDirectory(prefix="ru-llm-export-") as tmp:
        files = {s: str(write_parquet(out_dir / f"{s}.jsonl", Path(tmp) / f"{s}.parquet")) for s in splits}
        try:
            return datasets.load_dataset("parquet", data_files=files)  # copied into the datasets cache
        except Exception as e:
            raise RuLLMError(
                f"{out_dir}: cannot load the splits with datasets for export: {type(e).__name__}: {e}",
                hint="the JSONL files are complete; only the export failed",
            ) from e


def save_to_disk(out_dir: Path, target: Path) -> None:
    """A ``datasets.DatasetDict`` saved with ``save_to_disk`` (load it with ``load_from_disk``)."""
    _dataset_dict(out_dir).save_to_disk(str(target))


def push_to_hub(out_dir: Path, repo_id: str, *, private: bool = True) -> None:
    """Upload to the Hugging Face hub; the token comes from ``HF_TOKEN`` and is never printed."""
    token = os.environ.get("HF_TOKEN")
    if not token:
        raise RuLLMError("--push-to-hub needs a Hugging Face token", hint="set HF_TOKEN in the environment")
    try:
        _dataset_dict(out_dir).push_to_hub(repo_id, private=private, token=token)
    except Exception as e:  # network, permissions, name taken
        raise RuLLMError(f"cannot push to {repo_id!r}: {type(e).__name__}", hint="check the repo id and token") from e
