"""The built-in trainer strategies, registered through the same hook as third-party ones."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookimpl


@hookimpl
def register_trainer_strategies(register: Callable[..., object]) -> None:
    from ru_llm.train.strategies.cpt import ContinuedPretraining
    from ru_llm.train.strategies.dpo import PreferenceTuning
    from ru_llm.train.strategies.embeddings import EmbeddingsOnly
    from ru_llm.train.strategies.full import FullFineTuning
    from ru_llm.train.strategies.lora import LoraFineTuning

    register(FullFineTuning())
    register(LoraFineTuning())
    register(ContinuedPretraining())
    register(EmbeddingsOnly())
    register(PreferenceTuning())
