"""The template contract: a conversation rendered as ordered ``(text, trainable)`` segments.

Assistant replies and their end-of-turn markers are trainable; everything else is context. Built-in
formats live in ``formats``, Jinja rendering and export in ``jinja``, the tokenizer's own template
in ``hf`` and tokens/labels in ``labels``; their public names are re-exported here lazily, so
importing this package stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ru_llm.core.conversation import Conversation


class Segment(NamedTuple):
    """A piece of rendered text and whether the loss is computed on it."""

    text: str
    trainable: bool


@runtime_checkable
class Template(Protocol):
    """What ``register_templates`` expects.

    Built-ins also have ``chat_template()`` (their Jinja source with ``{% generation %}`` markers; see
    ``jinja.export_chat_template`` for the serving variant without them and
    ``jinja.export_training_chat_template``);
    a template that needs a tokenizer (``hf``) has ``bind(tokenizer)`` (see ``hf.resolve_template``).
    """

    name: str

    def render(self, conversation: Conversation) -> list[Segment]:
        """The whole conversation, in order; concatenating the texts gives the training string."""
        ...

    def render_prompt(self, conversation: Conversation) -> str:
        """The text a model continues to produce the next assistant reply (a generation prompt)."""
        ...


def render_text(template: Template, conversation: Conversation) -> str:
    """The training string of a conversation (its segments joined)."""
    return "".join(segment.text for segment in template.render(conversation))


_LAZY = {
    "IGNORE_INDEX": "labels",
    "tokenize_conversation": "labels",
    "tokenize_segments": "labels",
    "tokenize_preference": "preference",
    "PreferenceTokens": "preference",
    "export_chat_template": "jinja",
    "export_training_chat_template": "jinja",
    "strip_generation_markers": "jinja",
    "render_chat_template": "jinja",
    "save_chat_template": "jinja",
    "HFTemplate": "hf",
    "load_tokenizer": "hf",
    "resolve_template": "hf",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
