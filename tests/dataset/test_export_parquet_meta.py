"""Parquet export keeps ``meta`` as a JSON column (issue 13): values of mixed types across records
come back as they were written, not as JSON strings (``"qa"`` once came back as ``"\\"qa\\""``)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ru_llm.core import Conversation, Reject, conversation, write_jsonl
from ru_llm.dataset import export, get_dataset_builder
from ru_llm.dataset.rows import read_rows

METAS = [
    {"category": "qa", "turns": 1, "tags": ["a", "b"], "nested": {"k": [1, {"z": None}]}, "note": None},
    {"category": 3, "turns": "one", "tags": {"x": 1}, "ok": True, "score": 0.5, "текст": "привет"},
    {"category": ["qa", 2], "turns": None, "nested": {"k": "v"}, "big": 2**62, "float": 2.0},
    {},
    {"translation": {"backend": "wmt21", "flags": [], "source_id": "dolly-1"}, "merged_turns": 2},
]


def conversations() -> list[Conversation]:
    turns = [("user", "Вопрос"), ("assistant", "Ответ")]
    return [
        conversation(f"c{i}", turns, source="qa", lang="ru" if i % 2 else None, license="CC0-1.0", meta=meta)
        for i, meta in enumerate(METAS)
    ]


def built(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    write_jsonl(out / "train.jsonl", conversations())
    write_jsonl(out / "validation.jsonl", conversations()[:2])
    return out


def load_file(path: Path) -> tuple[list[Conversation], list[Reject]]:
    rejects: list[Reject] = []
    return list(get_dataset_builder("file").load(path, {}, on_reject=rejects.append)), rejects


def test_meta_of_mixed_types_round_trips_through_parquet(tmp_path: Path) -> None:
    out = built(tmp_path)
    assert export.to_parquet(out) == [out / "train.parquet", out / "validation.parquet"]
    rows = [row.record for row in read_rows(out / "train.parquet", lambda r: pytest.fail(r.reason))]
    assert [row["meta"] for row in rows] == METAS
    assert [list(row["meta"]) for row in rows] == [list(m) for m in METAS]  # no key added, order kept
    back, rejects = load_file(out / "train.parquet")
    assert rejects == []
    # the file builder stamps what its options say (not cleared, by default) on records that carry no stamp
    assert [c.to_dict() for c in back] == [{**c.to_dict(), "commercial": False} for c in conversations()]
    assert back[0].meta["category"] == "qa" and back[1].meta["category"] == 3
    validation, _ = load_file(out / "validation.parquet")
    assert [c.meta for c in validation] == METAS[:2]


def test_meta_is_a_json_column_that_other_tools_read_as_json(tmp_path: Path) -> None:
    out = built(tmp_path)
    export.to_parquet(out)
    parquet = pq.ParquetFile(out / "train.parquet")
    assert "meta (JSON)" in str(parquet.schema)  # Parquet's JSON logical type
    assert parquet.schema_arrow.field("messages").type == pa.list_(
        pa.struct([("role", pa.string()), ("content", pa.string())])
    )
    texts = pq.read_table(out / "train.parquet").column("meta").to_pylist()
    assert [json.loads(text) for text in texts] == METAS
    assert '"category":"qa"' in texts[0] and "привет" in texts[1]


def test_datasets_decodes_the_json_column_too(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    if not hasattr(datasets, "Json"):
        pytest.skip("this datasets version has no Json feature")
    out = built(tmp_path)
    export.to_parquet(out)
    loaded = datasets.load_dataset("parquet", data_files=str(out / "train.parquet"))["train"]
    assert [row["meta"] for row in loaded] == METAS
    export.save_to_disk(out, tmp_path / "disk")  # once refused mixed-type meta
    saved = datasets.load_from_disk(str(tmp_path / "disk"))
    assert [row["meta"] for row in saved["train"]] == METAS
    assert saved["validation"].num_rows == 2


def test_an_older_export_with_json_fields_inside_meta_is_decoded(tmp_path: Path) -> None:
    """What ``datasets`` wrote before: a struct whose mixed-type fields are JSON text."""
    category = pa.ExtensionArray.from_storage(pa.json_(pa.string()), pa.array(['"qa"', "3"]))
    meta = pa.StructArray.from_arrays([category, pa.array([1, 2])], names=["category", "turns"])
    table = pa.table(
        {
            "id": ["a", "b"],
            "messages": [[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]] * 2,
            "meta": meta,
        }
    )
    pq.write_table(table, tmp_path / "old.parquet")
    back, rejects = load_file(tmp_path / "old.parquet")
    assert rejects == [] and [c.meta for c in back] == [{"category": "qa", "turns": 1}, {"category": 3, "turns": 2}]


def test_a_json_column_with_broken_text_is_a_reject(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["a", "b"],
            "messages": [[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]] * 2,
            "meta": pa.array(['{"ok": 1}', "{broken"], type=pa.json_(pa.string())),
        }
    )
    pq.write_table(table, tmp_path / "broken.parquet")
    back, rejects = load_file(tmp_path / "broken.parquet")
    assert [c.id for c in back] == ["a"] and back[0].meta == {"ok": 1}
    assert len(rejects) == 1 and rejects[0].reason.startswith("column 'meta' is not valid JSON")
    assert rejects[0].record_id == "b" and rejects[0].file == str(tmp_path / "broken.parquet")
