"""Lookups for the things this package's hooks register."""

from __future__ import annotations

from ru_llm.core.plugins import registry
from ru_llm.core.registry import Registry
from ru_llm.eval.task import EvalTask


def metrics() -> Registry[EvalTask]:
    """Every registered evaluation task (each an :class:`EvalTask`)."""
    return registry(
        "register_metrics",
        "task",
        hint="run `ru-llm eval tasks` to list them; a plugin adds tasks (docs/plugins.md)",
        expect=EvalTask,
    )


def get_task(name: str) -> EvalTask:
    """The task registered under ``name``; an unknown name lists the known ones."""
    return metrics().get(name)
