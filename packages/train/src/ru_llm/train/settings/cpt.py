"""The ``cpt:`` block: the raw-text corpora of ``cpt`` (and of every text strategy) and what ``cpt`` trains."""

# ruff: noqa: RUF009  (help_field returns a dataclasses.field, which ruff cannot see)
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ru_llm.core.errors import ConfigError
from ru_llm.train.fields import help_field as _help


@dataclass
class CorpusConfig:
    path: str = _help("a text/JSONL/Parquet file, a directory of them, or hf:DATASET[?split=..&column=..]")
    weight: float = _help("share of the mixture (normalised over corpora)", default=1.0)
    column: str = _help("the text column of JSONL/Parquet/HF rows", default="text")
    name: str | None = _help("label for logs and the model card (default: the file name)", default=None)
    license: str | None = _help("the corpus's licence, for the model card", default=None)
    commercial: bool | None = _help(
        "true only if you know the corpus is cleared for commercial use; --commercial trains only on such corpora",
        default=None,
    )

    def __post_init__(self) -> None:
        if self.weight <= 0:
            raise ConfigError(f"a corpus weight must be positive, got {self.weight} for {self.path!r}")


@dataclass
class CptSettings:
    corpora: list[CorpusConfig] = _help("raw-text corpora to mix (Russian plus English replay)", default_factory=list)
    base: Literal["full", "lora"] = _help("train every parameter, or LoRA adapters", default="full")
    max_documents: int | None = _help("stop reading after this many documents (all corpora together)", default=None)
