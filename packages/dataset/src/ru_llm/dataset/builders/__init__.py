"""Dataset builders: sources that turn raw rows into conversations."""

from ru_llm.dataset.builders.base import DatasetBuilder, LoadStats, NoOptions

__all__ = ["DatasetBuilder", "LoadStats", "NoOptions"]
