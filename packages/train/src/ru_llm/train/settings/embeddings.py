"""The ``embeddings:`` block: settings of the ``embeddings`` strategy (and of ``lora.train_embeddings``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ru_llm.core.errors import ConfigError
from ru_llm.train.fields import help_field as _help


@dataclass
class EmbeddingSettings:
    train: Literal["all", "new"] = _help(
        "train every embedding row, or only the rows from first_new_row on (Ruadapt's new tokens)", default="all"
    )
    first_new_row: int | None = _help(
        "the first new token id (the old vocabulary size `ru-llm tokenize resize-model` reports)", default=None
    )
    lr: float | None = _help("learning rate of the embedding matrices (default: optimizer.lr)", default=None)

    def __post_init__(self) -> None:
        if self.train == "new" and (self.first_new_row is None or self.first_new_row < 1):
            raise ConfigError("'embeddings.train: new' needs embeddings.first_new_row, the first new token id")
        if self.lr is not None and self.lr <= 0:
            raise ConfigError(f"'embeddings.lr' must be positive, got {self.lr}")
