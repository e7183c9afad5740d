"""``cpt``: continued pre-training on raw text (Russian plus English replay, as T-Lite did).

Documents from several corpora are mixed by weight, separated by EOS and packed to the context
length; every token is trained. The parameters trained are the ``full`` or ``lora`` strategy's
(``cpt.base``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from ru_llm.core.errors import ConfigError
from ru_llm.core.families import ModelFamily
from ru_llm.train.config import RunConfig
from ru_llm.train.strategies.full import FullFineTuning
from ru_llm.train.strategies.lora import LoraFineTuning


class ContinuedPretraining:
    name = "cpt"
    description = "continued pre-training on raw-text corpora mixed by weight (cpt.corpora), full or LoRA"
    data_kind: Literal["conversations", "text", "preferences"] = "text"

    def _base(self, config: RunConfig) -> FullFineTuning | LoraFineTuning:
        return LoraFineTuning() if config.cpt.base == "lora" else FullFineTuning()

    def check(self, config: RunConfig) -> None:
        if not config.cpt.corpora and config.data is None:
            raise ConfigError(
                "the cpt strategy needs text: list cpt.corpora (path and weight each) or set data",
                hint="see the cpt-replay preset: `ru-llm train presets`",
            )
        self._base(config).check(config)

    def model_options(self, config: RunConfig) -> dict[str, Any]:
        return self._base(config).model_options(config)

    def prepare(self, model: Any, config: RunConfig, family: ModelFamily) -> Any:
        return self._base(config).prepare(model, config, family)

    def parameter_groups(self, model: Any, config: RunConfig) -> list[dict[str, Any]] | None:
        return self._base(config).parameter_groups(model, config) if config.cpt.base == "lora" else None

    def trainer_arguments(self, config: RunConfig, output_dir: Path) -> dict[str, Any]:
        return self._base(config).trainer_arguments(config, output_dir)

    def save(self, trainer: Any, output_dir: Path) -> None:
        if hasattr(trainer.model, "peft_config"):
            trainer.model.save_pretrained(str(output_dir), safe_serialization=True)
        else:
            trainer.save_model(str(output_dir))
