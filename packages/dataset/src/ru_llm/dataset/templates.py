"""The template contract: a conversation rendered as ordered ``(text, trainable)`` segments.

Assistant replies and their end-of-turn markers are trainable; everything else is context. The
built-in templates (and Jinja export) arrive with the dataset issue; plugins implement this now.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

from ru_llm.core.conversation import Conversation


class Segment(NamedTuple):
    """A piece of rendered text and whether the loss is computed on it."""

    text: str
    trainable: bool


@runtime_checkable
class Template(Protocol):
    """What ``register_templates`` expects."""

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
