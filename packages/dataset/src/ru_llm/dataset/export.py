"""Optional exports of a built dataset: Parquet files, ``save_to_disk``, ``push_to_hub``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ru_llm.core.errors import RuLLMError

SPLITS = ("train", "validation")


def _dataset_dict(out_dir: Path) -> Any:
    import datasets

    files = {s: str(out_dir / f"{s}.jsonl") for s in SPLITS if (out_dir / f"{s}.jsonl").stat().st_size > 0}
    if not files:
        raise RuLLMError(f"{out_dir}: both splits are empty, nothing to export")
    try:
        return datasets.load_dataset("json", data_files=files)
    except Exception as e:  # e.g. meta values of different types across records, which Arrow refuses
        raise RuLLMError(
            f"{out_dir}: cannot load the splits with datasets for export: {type(e).__name__}: {e}",
            hint="the JSONL files are complete; export fails on them only (check mixed-type meta fields)",
        ) from e


def to_parquet(out_dir: Path) -> list[Path]:
    """Write ``<split>.parquet`` beside each non-empty ``<split>.jsonl``."""
    written = []
    for split, dataset in _dataset_dict(out_dir).items():
        path = out_dir / f"{split}.parquet"
        dataset.to_parquet(str(path))
        written.append(path)
    return written


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
