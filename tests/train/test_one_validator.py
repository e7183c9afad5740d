"""Training reads conversations and pairs with the toolkit's one validator: the malformed records that
`dataset load` and `dataset build` reject (tests/dataset/test_validator.py) are rejected by a run's data
preparation with the same reasons, and records in = used + rejected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kit.malformed import CONVERSATION_REASONS, CONVERSATIONS, PAIR_REASONS, reasons_by_line, write_malformed
from kit.prepared_data import prepare


def _reconciles(prepared: Any, records: int, used: int) -> None:
    stats = prepared.stats
    assert stats.records == records == stats.used + sum(stats.rejected.values())
    assert stats.used == used


def test_sft_data_preparation_rejects_what_dataset_build_rejects(run_config, tmp_path: Path) -> None:
    data = write_malformed(tmp_path / "convs.jsonl")
    prepared, rejects = prepare(run_config, data=str(data))
    assert reasons_by_line(rejects) == CONVERSATION_REASONS
    _reconciles(prepared, len(CONVERSATIONS), 2)


def test_dpo_data_preparation_rejects_what_the_preference_reader_rejects(run_config, tmp_path: Path) -> None:
    data = write_malformed(tmp_path / "pairs.jsonl", "preference")
    prepared, rejects = prepare(run_config, data=str(data), strategy="dpo", dpo={"beta": 0.1})
    assert reasons_by_line(rejects) == PAIR_REASONS
    _reconciles(prepared, 9, 2)


def test_hf_rows_get_the_same_reasons(run_config, tmp_path: Path) -> None:
    """Rows of a Parquet file (read with `datasets`) go through the same validator; line = row index."""
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    structural = {line: reason for line, reason in CONVERSATION_REASONS.items() if line <= 7}
    rows = [{**r, "source": "handmade", "license": "CC0-1.0"} for r in CONVERSATIONS[:7]]
    path = tmp_path / "convs.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    prepared, rejects = prepare(run_config, data=str(path))
    assert reasons_by_line(rejects) == {line - 1: reason for line, reason in structural.items()}
    _reconciles(prepared, 7, 2)
