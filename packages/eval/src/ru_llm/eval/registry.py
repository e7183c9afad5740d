"""Lookups for the things this package's hooks register."""

from __future__ import annotations

from typing import Any

from ru_llm.core.plugins import registry
from ru_llm.core.registry import Registry


def metrics() -> Registry[Any]:
    """Every registered evaluation task."""
    return registry(
        "register_metrics",
        "metric",
        hint="run `ru-llm plugins` to see what is installed; a plugin adds tasks (docs/plugins.md)",
    )
