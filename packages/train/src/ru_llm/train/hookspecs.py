"""Hooks defined by ru-llm-train."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookspec


@hookspec
def register_trainer_strategies(register: Callable[..., object]) -> None:
    """Register training strategies (full fine-tuning, LoRA, continued pre-training, ...).

    :param register: call ``register(strategy, *, aliases=(), override=False)`` once per strategy.
        ``strategy`` must satisfy :class:`ru_llm.train.strategy.TrainerStrategy` (every member it
        declares; inherit :class:`ru_llm.train.strategy.StrategyDefaults` for the usual answers);
        anything else is refused. ``override=True`` replaces a strategy of the same name. Returns
        nothing; every implementation is called.
    """


@hookspec
def register_data_pipelines(register: Callable[..., object]) -> None:
    """Register data pipelines: how the runs of one data kind read, encode and preview their data.

    :param register: call ``register(pipeline, *, aliases=(), override=False)`` once per pipeline.
        ``pipeline`` must satisfy :class:`ru_llm.train.pipelines.DataPipeline` (``name``: the data kind a
        strategy's ``data_kind`` names, ``description``, ``inputs``, ``check``, ``settings_shown``,
        ``prepare``, ``preview``); anything else is refused. The built-ins are ``conversations``,
        ``text`` and ``preferences``. Returns nothing; every implementation is called.
    """
