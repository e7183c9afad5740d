"""Training as ``lora`` or ``full`` does, for strategies that differ only in their data or loss (``cpt``, ``dpo``).

Composition, not inheritance: such a strategy holds a :class:`TrainedAs` and hands it, one line per
member, the questions about which parameters train, how the model loads and how the result is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ru_llm.train.strategies.full import FullFineTuning
from ru_llm.train.strategies.lora import LoraFineTuning

if TYPE_CHECKING:
    from ru_llm.train.config import RunConfig
    from ru_llm.train.strategy import TrainerStrategy

#: the strategies whose parameters another strategy may train, by the config value that names them
BASES: dict[str, Callable[[], TrainerStrategy]] = {"lora": LoraFineTuning, "full": FullFineTuning}


@dataclass(frozen=True)
class TrainedAs:
    """The ``lora`` or ``full`` strategy that ``choose(config)`` names (``cpt.base``, ``dpo.method``)."""

    choose: Callable[[RunConfig], str]

    def __call__(self, config: RunConfig) -> TrainerStrategy:
        return BASES[self.choose(config)]()

    @staticmethod
    def save(trainer: Any, output_dir: Path) -> None:
        """Save as the strategy that trained ``trainer.model`` would (``save`` gets no config: the model tells)."""
        trained = LoraFineTuning() if hasattr(trainer.model, "peft_config") else FullFineTuning()
        trained.save(trainer, output_dir)
