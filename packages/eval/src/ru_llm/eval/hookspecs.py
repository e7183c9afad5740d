"""Hooks defined by ru-llm-eval."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookspec


@hookspec
def register_metrics(register: Callable[..., object]) -> None:
    """Register evaluation tasks and metrics (MMLU, MMLU-RU, perplexity, ...).

    :param register: call ``register(task, *, aliases=(), override=False)`` once per task. ``task``
        must satisfy :class:`ru_llm.eval.task.EvalTask` (``name``, ``description``, ``load``,
        ``request``, ``score``, ``aggregate``); anything else is refused. ``override=True`` replaces a
        task of the same name. Returns nothing; every implementation is called.
    """
