"""Hooks defined by ru-llm-translate."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookspec


@hookspec
def register_translators(register: Callable[..., object]) -> None:
    """Register machine-translation backends.

    :param register: call ``register(translator, *, aliases=(), override=False)`` once per backend. A
        translator has a ``name``, translates a batch of segments, and declares its limits (input and
        output tokens) and the licence of its default model. ``override=True`` replaces a backend of
        the same name. Returns nothing; every implementation is called.
    """
