"""Lookups for the things this package's hooks register."""

from __future__ import annotations

from ru_llm.core.plugins import registry
from ru_llm.core.registry import Registry
from ru_llm.train.pipelines import DataPipeline
from ru_llm.train.strategy import TrainerStrategy, complete_strategy


def trainer_strategies() -> Registry[TrainerStrategy]:
    """Every registered training strategy (each a :class:`TrainerStrategy`)."""
    return registry(
        "register_trainer_strategies",
        "trainer strategy",
        hint="run `ru-llm train presets` or `ru-llm plugins` to see what is installed; a plugin adds strategies "
        "(docs/plugins.md)",
        expect=TrainerStrategy,
        adapt=complete_strategy,
    )


def get_strategy(name: str) -> TrainerStrategy:
    """The strategy registered under ``name``; an unknown name lists the known ones."""
    return trainer_strategies().get(name)


def data_pipelines() -> Registry[DataPipeline]:
    """Every registered data pipeline, by data kind."""
    return registry(
        "register_data_pipelines",
        "data pipeline",
        hint="a strategy's data_kind names a pipeline; a plugin adds one with register_data_pipelines "
        "(docs/plugins.md)",
        expect=DataPipeline,
    )


def get_pipeline(data_kind: str) -> DataPipeline:
    """The pipeline registered for ``data_kind``; an unknown kind lists the known ones."""
    return data_pipelines().get(data_kind)
