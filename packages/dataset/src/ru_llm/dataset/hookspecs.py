"""Hooks defined by ru-llm-dataset."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookspec


@hookspec
def register_dataset_builders(register: Callable[..., object]) -> None:
    """Register dataset builders: sources that turn records into conversations.

    :param register: call ``register(builder, *, aliases=(), override=False)`` once per builder. A
        builder has a ``name`` and declares its hub id, local-file reader, licence, whether commercial
        use is allowed, its language, and a converter to :class:`ru_llm.core.Conversation`.
        ``override=True`` replaces a builder of the same name. Returns nothing; every implementation
        is called.
    """


@hookspec
def register_templates(register: Callable[..., object]) -> None:
    """Register chat template formatters.

    :param register: call ``register(template, *, aliases=(), override=False)`` once per template. A
        template has a ``name``, renders a conversation into ordered ``(text, trainable)`` segments,
        renders a generation prompt, and exports itself as a Jinja ``chat_template``.
        ``override=True`` replaces a template of the same name. Returns nothing; every
        implementation is called.
    """
