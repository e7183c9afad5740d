"""The ``lora:`` block: settings of the ``lora`` strategy (and of strategies trained as LoRA)."""

# ruff: noqa: RUF009  (help_field returns a dataclasses.field, which ruff cannot see)
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ru_llm.core.errors import ConfigError
from ru_llm.train.fields import help_field as _help


@dataclass
class LoraSettings:
    r: int = _help("LoRA rank", default=16)
    alpha: int = _help("LoRA alpha (scaling = alpha / r)", default=16)
    dropout: float = _help("dropout on the LoRA input", default=0.05)
    target_modules: list[str] | None = _help("module names to adapt; default: the model family's", default=None)
    modules_to_save: list[str] | None = _help("modules trained fully and saved with the adapter", default=None)
    quantization: Literal["none", "int8", "nf4"] = _help(
        "load the base in 8-bit or 4-bit NF4 (bitsandbytes) for QLoRA-style training", default="none"
    )
    bias: Literal["none", "all", "lora_only"] = _help("which biases to train", default="none")
    layers: list[int] | None = _help(
        "adapt only these decoder layers (0 first, -1 last; default: all), e.g. [0, -1] for calibration",
        default=None,
    )
    train_embeddings: bool = _help(
        "also train the input embeddings and lm_head fully (Ruadapt stage 2; their lr: embeddings.lr)", default=False
    )

    def __post_init__(self) -> None:
        if self.r < 1:
            raise ConfigError(f"'lora.r' must be at least 1, got {self.r}")
        if self.alpha < 1:
            raise ConfigError(f"'lora.alpha' must be at least 1, got {self.alpha}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"'lora.dropout' must be in [0, 1), got {self.dropout}")
