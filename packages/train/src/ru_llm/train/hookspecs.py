"""Hooks defined by ru-llm-train."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookspec


@hookspec
def register_trainer_strategies(register: Callable[..., object]) -> None:
    """Register training strategies (full fine-tuning, LoRA, continued pre-training, ...).

    :param register: call ``register(strategy, *, aliases=(), override=False)`` once per strategy.
        ``strategy`` must satisfy :class:`ru_llm.train.strategy.TrainerStrategy` (``name``,
        ``description``, ``data_kind``, ``check``, ``model_options``, ``prepare``,
        ``trainer_arguments``, ``save``); anything else is refused. ``override=True`` replaces a
        strategy of the same name. Returns nothing; every implementation is called.
    """
