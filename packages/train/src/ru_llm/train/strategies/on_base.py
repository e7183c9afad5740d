"""What ``cpt`` and ``dpo`` share: they train the parameters ``lora`` or ``full`` would, saved the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ru_llm.core.families import ModelFamily
from ru_llm.train.config import RunConfig
from ru_llm.train.strategies.full import FullFineTuning
from ru_llm.train.strategies.lora import LoraFineTuning


class OnLoraOrFull:
    """A strategy whose trained parameters are the ``lora`` or the ``full`` strategy's (``base_name``)."""

    def base_name(self, config: RunConfig) -> str:
        raise NotImplementedError

    def _base(self, config: RunConfig) -> FullFineTuning | LoraFineTuning:
        return LoraFineTuning() if self.base_name(config) == "lora" else FullFineTuning()

    def model_options(self, config: RunConfig) -> dict[str, Any]:
        return self._base(config).model_options(config)

    def prepare(self, model: Any, config: RunConfig, family: ModelFamily) -> Any:
        return self._base(config).prepare(model, config, family)

    def parameter_groups(self, model: Any, config: RunConfig) -> list[dict[str, Any]] | None:
        return LoraFineTuning().parameter_groups(model, config) if self.base_name(config) == "lora" else None

    def trainer_arguments(self, config: RunConfig, output_dir: Path) -> dict[str, Any]:
        return self._base(config).trainer_arguments(config, output_dir)

    def save(self, trainer: Any, output_dir: Path) -> None:
        if hasattr(trainer.model, "peft_config"):
            # only our adapter: TRL's DPOTrainer adds a frozen copy of the starting one named "ref"
            trainer.model.save_pretrained(str(output_dir), safe_serialization=True, selected_adapters=["default"])
        else:
            trainer.save_model(str(output_dir))  # gathers ZeRO-3 shards; safetensors
