"""Hooks defined by ru-llm-train."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookspec


@hookspec
def register_trainer_strategies(register: Callable[..., object]) -> None:
    """Register training strategies (full fine-tuning, LoRA, embeddings only, LEP, ...).

    :param register: call ``register(strategy, *, aliases=(), override=False)`` once per strategy. A
        strategy has a ``name`` and prepares a model for training, trains it and saves the result.
        ``override=True`` replaces a strategy of the same name. Returns nothing; every
        implementation is called.
    """
