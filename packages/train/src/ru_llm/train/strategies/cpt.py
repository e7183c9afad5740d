"""``cpt``: continued pre-training on raw text (Russian plus English replay, as T-Lite did).

Documents from several corpora are mixed by weight, separated by EOS and packed to the context
length; every token is trained. The parameters trained are the ``full`` or ``lora`` strategy's
(``cpt.base``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.core.families import ModelFamily
from ru_llm.train.config import RunConfig
from ru_llm.train.settings.cpt import CptSettings
from ru_llm.train.strategies.on_base import TrainedAs
from ru_llm.train.strategy import StrategyDefaults


class ContinuedPretraining(StrategyDefaults):
    name = "cpt"
    description = "continued pre-training on raw-text corpora mixed by weight (cpt.corpora), full or LoRA"
    data_kind = "text"
    settings_class = CptSettings
    trained = TrainedAs(lambda config: config.cpt.base)

    def check(self, config: RunConfig) -> None:
        if not config.cpt.corpora and config.data is None:
            raise ConfigError(
                "the cpt strategy needs text: list cpt.corpora (path and weight each) or set data",
                hint="see the cpt-replay preset: `ru-llm train presets`",
            )
        self.trained(config).check(config)

    def settings_shown(self, config: RunConfig) -> set[str]:
        return {"cpt"} | self.trained(config).settings_shown(config)

    # what is trained, and how it loads and saves: the lora or full strategy's (cpt.base)
    def model_options(self, config: RunConfig) -> dict[str, Any]:
        return self.trained(config).model_options(config)

    def frozen_base(self, config: RunConfig) -> bool:
        return self.trained(config).frozen_base(config)

    def prepare(self, model: Any, config: RunConfig, family: ModelFamily) -> Any:
        return self.trained(config).prepare(model, config, family)

    def parameter_groups(self, model: Any, config: RunConfig) -> list[dict[str, Any]] | None:
        return self.trained(config).parameter_groups(model, config)

    def trainer_arguments(self, config: RunConfig, output_dir: Path) -> dict[str, Any]:
        return self.trained(config).trainer_arguments(config, output_dir)

    def save(self, trainer: Any, output_dir: Path) -> None:
        self.trained.save(trainer, output_dir)
