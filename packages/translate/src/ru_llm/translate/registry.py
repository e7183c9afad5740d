"""Lookups for the things this package's hooks register."""

from __future__ import annotations

from typing import Any

from ru_llm.core.plugins import registry
from ru_llm.core.registry import Registry


def translators() -> Registry[Any]:
    """Every registered MT backend."""
    return registry(
        "register_translators",
        "translator",
        hint="run `ru-llm plugins` to see what is installed; a plugin adds backends (docs/plugins.md)",
    )


def get_translator(name: str) -> Any:
    return translators().get(name)
