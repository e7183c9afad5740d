"""Training reads conversations and pairs with the toolkit's one validator: the malformed records that
`dataset load` and `dataset build` reject (tests/dataset/test_validator.py) are rejected by a run's data
preparation with the same reasons, and records in = used + rejected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kit.malformed import CONVERSATION_REASONS, CONVERSATIONS, PAIR_REASONS, reasons_by_line, write_malformed

from ru_llm.core.jsonl import Reject


def prepare(run_config: Callable[..., Path], **values: Any) -> tuple[Any, list[Reject]]:
    """A run's data as ``train run`` prepares it (template, tokenizer, readers), and its rejects."""
    from ru_llm.core.families import model_family_for
    from ru_llm.train.configfile import resolve_config
    from ru_llm.train.datasets import prepare_datasets
    from ru_llm.train.registry import get_strategy
    from ru_llm.train.run import load_model_config, load_run_tokenizer

    config, _ = resolve_config(run_config("llama", **values))
    family = model_family_for(load_model_config(config))
    tokenizer = load_run_tokenizer(config, family)
    rejects: list[Reject] = []
    prepared = prepare_datasets(config, get_strategy(config.strategy), family, tokenizer, rejects.append)
    return prepared, rejects


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
