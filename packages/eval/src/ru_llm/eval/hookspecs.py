"""Hooks defined by ru-llm-eval."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookspec


@hookspec
def register_metrics(register: Callable[..., object]) -> None:
    """Register evaluation tasks and metrics (MMLU, MMLU-RU, MT-Bench-RU, ...).

    :param register: call ``register(metric, *, aliases=(), override=False)`` once per task. A task
        has a ``name``, a data loader, a scorer and a report. ``override=True`` replaces a task of the
        same name. Returns nothing; every implementation is called.
    """
