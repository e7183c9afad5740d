"""Lookups for the things this package's hooks register."""

from __future__ import annotations

from typing import Any

from ru_llm.core.plugins import registry
from ru_llm.core.registry import Registry


def trainer_strategies() -> Registry[Any]:
    """Every registered training strategy."""
    return registry(
        "register_trainer_strategies",
        "trainer strategy",
        hint="run `ru-llm plugins` to see what is installed; a plugin adds strategies (docs/plugins.md)",
    )
