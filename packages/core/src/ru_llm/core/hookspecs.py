"""Hooks defined by ru-llm-core."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookspec


@hookspec
def register_model_families(register: Callable[..., object]) -> None:
    """Register base-model families.

    :param register: call ``register(family, *, aliases=(), override=False)`` once per
        :class:`ru_llm.core.families.ModelFamily`. A family claims HF ``model_type`` values and says
        which modules LoRA targets, where the input embeddings and ``lm_head`` are, whether they are
        tied, and which template it uses by default. ``override=True`` replaces a family of the same
        name (a built-in, say). Returns nothing; every implementation is called.
    """
