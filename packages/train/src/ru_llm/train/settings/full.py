"""The ``full:`` block: settings of the ``full`` strategy (and of every strategy run under DeepSpeed)."""

from __future__ import annotations

from dataclasses import dataclass

from ru_llm.train.fields import help_field as _help


@dataclass
class FullSettings:
    deepspeed: str | None = _help(
        "zero2, zero3, or a path to a DeepSpeed JSON config (needs ru-llm-train[deepspeed])", default=None
    )
    offload: bool = _help("ZeRO: offload optimizer state and parameters to CPU memory", default=False)
