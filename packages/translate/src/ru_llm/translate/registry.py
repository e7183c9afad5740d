"""Lookups for the things this package's hooks register."""

from __future__ import annotations

from ru_llm.core.plugins import registry
from ru_llm.core.registry import Registry
from ru_llm.translate.backends.base import TranslatorBackend


def translators() -> Registry[TranslatorBackend]:
    """Every registered MT backend."""
    return registry(
        "register_translators",
        "translator",
        hint="run `ru-llm translate backends` to list them; a plugin adds more (docs/plugins.md)",
        expect=TranslatorBackend,
    )


def get_translator(name: str) -> TranslatorBackend:
    return translators().get(name)
