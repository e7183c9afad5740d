"""``lora_plus``: LoRA+ (Hayou, Ghosh, Yu, 2024), a trainer strategy built on ``lora`` by composition.

LoRA+ trains the ``B`` matrices of every adapter at ``lora_plus.ratio`` times the learning rate of the
``A`` matrices; everything else (adapters from the ``lora:`` block, the frozen base loaded in bf16 where
the hardware has it, saving a peft adapter) is the built-in ``lora`` strategy's, which this one holds.

    strategy: lora_plus
    lora: {r: 16}
    lora_plus: {ratio: 16}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core import ConfigError, hookimpl


@dataclass
class LoraPlusSettings:
    """The ``lora_plus:`` block of a run config."""

    ratio: float = field(default=16.0, metadata={"help": "learning rate of the B matrices / that of the A matrices"})

    def __post_init__(self) -> None:
        if self.ratio < 1:
            raise ConfigError(f"'lora_plus.ratio' must be at least 1, got {self.ratio}", hint="the paper uses 16")


class LoraPlus:
    """Every member of ``ru_llm.train.strategy.TrainerStrategy``: the LoRA ones handed to ``lora``."""

    name = "lora_plus"
    description = "LoRA+ (example plugin): lora adapters, B matrices at lora_plus.ratio x the learning rate"
    data_kind = "conversations"
    settings_class = LoraPlusSettings

    def __init__(self) -> None:
        from ru_llm.train.strategies.lora import LoraFineTuning

        self.lora = LoraFineTuning()

    def parameter_groups(self, model: Any, config: Any) -> list[dict[str, Any]]:
        """The ``lora_B`` matrices at ``ratio`` times ``optimizer.lr``; every other trained parameter at it."""
        settings: LoraPlusSettings = config.settings_for(self.name)
        trained = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        fast = [p for name, p in trained if ".lora_B." in name]
        if not fast:
            raise ConfigError("lora_plus: the model has no lora_B matrices to train")
        rest = [p for name, p in trained if ".lora_B." not in name]
        return [{"params": rest}, {"params": fast, "lr": config.optimizer.lr * settings.ratio}]

    def settings_shown(self, config: Any) -> set[str]:
        return {self.name} | self.lora.settings_shown(config)

    def card_label(self, config: Any) -> str:
        return f"lora_plus (ratio {config.settings_for(self.name).ratio:g})"

    # the rest is LoRA's
    def check(self, config: Any) -> None:
        if config.lora.train_embeddings:
            raise ConfigError("lora_plus does not train embeddings", hint="set lora.train_embeddings: false")
        self.lora.check(config)

    def model_options(self, config: Any) -> dict[str, Any]:
        return self.lora.model_options(config)

    def frozen_base(self, config: Any) -> bool:
        return self.lora.frozen_base(config)

    def prepare(self, model: Any, config: Any, family: Any) -> Any:
        return self.lora.prepare(model, config, family)

    def trainer_arguments(self, config: Any, output_dir: Path) -> dict[str, Any]:
        return self.lora.trainer_arguments(config, output_dir)

    def trainer_parts(self, config: Any, tokenizer: Any, counter: Any, load_reference: Callable[[str], Any]) -> None:
        return None

    def reference_models(self, config: Any) -> dict[str, str]:
        return {}

    def save(self, trainer: Any, output_dir: Path) -> None:
        self.lora.save(trainer, output_dir)


@hookimpl
def register_trainer_strategies(register: Callable[..., object]) -> None:
    register(LoraPlus())
