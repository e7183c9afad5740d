"""``cpt``: continued pre-training on raw text (Russian plus English replay, as T-Lite did).

Documents from several corpora are mixed by weight, separated by EOS and packed to the context
length; every token is trained. The parameters trained are the ``full`` or ``lora`` strategy's
(``cpt.base``).
"""

from __future__ import annotations

from typing import Literal

from ru_llm.core.errors import ConfigError
from ru_llm.train.config import RunConfig
from ru_llm.train.strategies.on_base import OnLoraOrFull


class ContinuedPretraining(OnLoraOrFull):
    name = "cpt"
    description = "continued pre-training on raw-text corpora mixed by weight (cpt.corpora), full or LoRA"
    data_kind: Literal["conversations", "text", "preferences"] = "text"

    def base_name(self, config: RunConfig) -> str:
        return config.cpt.base

    def check(self, config: RunConfig) -> None:
        if not config.cpt.corpora and config.data is None:
            raise ConfigError(
                "the cpt strategy needs text: list cpt.corpora (path and weight each) or set data",
                hint="see the cpt-replay preset: `ru-llm train presets`",
            )
        self._base(config).check(config)
