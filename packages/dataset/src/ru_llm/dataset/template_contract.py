"""The template contract (``Segment``, ``Template``), apart from the templates package.

``ru_llm.dataset.templates`` re-exports it. It lives here so that the registry, which checks what
``register_templates`` registers, does not import the templates package, whose ``hf`` module looks
templates up in the registry (an import loop otherwise).
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
