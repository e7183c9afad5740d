"""``full``: every parameter trained; optional DeepSpeed ZeRO-2/3 (the paper's XGLM-4.5B run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.core.families import ModelFamily
from ru_llm.train.config import RunConfig
from ru_llm.train.settings.full import FullSettings
from ru_llm.train.strategy import StrategyDefaults


class FullFineTuning(StrategyDefaults):
    name = "full"
    description = "train every parameter; deepspeed: zero2|zero3|FILE for sharded multi-GPU runs"
    data_kind = "conversations"
    settings_class = FullSettings

    def check(self, config: RunConfig) -> None:
        from ru_llm.train.deepspeed import check_deepspeed

        check_deepspeed(config)

    def prepare(self, model: Any, config: RunConfig, family: ModelFamily) -> Any:
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        if not any(p.requires_grad for p in model.parameters()):
            raise ConfigError("the model has no parameters to train")
        return model

    def trainer_arguments(self, config: RunConfig, output_dir: Path) -> dict[str, Any]:
        from ru_llm.train.deepspeed import deepspeed_arguments

        return deepspeed_arguments(config)

    def save(self, trainer: Any, output_dir: Path) -> None:
        # Trainer.save_model gathers ZeRO-3 shards (stage3_gather_16bit_weights_on_model_save) and
        # writes safetensors.
        trainer.save_model(str(output_dir))
