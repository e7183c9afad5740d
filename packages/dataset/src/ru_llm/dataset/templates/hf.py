"""The ``hf`` template: a tokenizer's own ``chat_template``, and binding templates to a tokenizer.

Trainable spans come from the template's ``{% generation %}`` blocks when it has them; otherwise from
rendering prefixes: an assistant reply is what ``messages[:i+1]`` adds after ``messages[:i]`` with
the generation prompt, cut after the tokenizer's EOS token when the reply contains it (so a
trailing newline between turns is not trained).
"""

from __future__ import annotations

import os
import re
from typing import Any

import jinja2

from ru_llm.core.conversation import Conversation
from ru_llm.core.errors import ConfigError, RecordError
from ru_llm.dataset.templates import Segment, Template
from ru_llm.dataset.templates.jinja import message_dicts, render_chat_template, segments_from_spans

_GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")
_SPECIAL_NAMES = ("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token")


class HFTemplate:
    """The tokenizer's own chat template; unusable until :meth:`bind` gives it a tokenizer."""

    name = "hf"
    aliases: tuple[str, ...] = ()
    description = "the tokenizer's own chat_template (needs --tokenizer)"

    def __init__(self, tokenizer: Any = None) -> None:
        self.tokenizer = tokenizer

    def bind(self, tokenizer: Any) -> HFTemplate:
        """This template reading ``tokenizer.chat_template`` (a transformers tokenizer or alike)."""
        if not isinstance(getattr(tokenizer, "chat_template", None), str):
            raise ConfigError(
                "the tokenizer has no chat_template",
                hint="use a named template (--template chatml, llama3, …) or a tokenizer that has one",
            )
        return HFTemplate(tokenizer)

    def _source(self) -> str:
        if self.tokenizer is None:
            raise ConfigError("the hf template needs a tokenizer", hint="pass --tokenizer DIR (or resolve_template)")
        return self.tokenizer.chat_template

    def _variables(self) -> dict[str, Any]:
        variables = {name: getattr(self.tokenizer, name, None) for name in _SPECIAL_NAMES}
        return {k: v for k, v in variables.items() if isinstance(v, str)}

    def _render(self, conversation: Conversation, messages: list[dict[str, str]], **options: Any) -> tuple[str, list]:
        try:
            return render_chat_template(self._source(), messages, **options, **self._variables())
        except jinja2.TemplateError as e:
            raise RecordError(f"the tokenizer's chat template failed: {e}", record_id=conversation.id) from None

    def render(self, conversation: Conversation) -> list[Segment]:
        messages = message_dicts(conversation)
        text, spans = self._render(conversation, messages)
        if not _GENERATION_TAG.search(self._source()):
            spans = self._prefix_spans(conversation, messages, text)
        return segments_from_spans(text, spans)

    def render_prompt(self, conversation: Conversation) -> str:
        return self._render(conversation, message_dicts(conversation), add_generation_prompt=True)[0]

    def chat_template(self) -> str:
        return self._source()

    def _prefix_spans(self, conversation: Conversation, messages: list[dict[str, str]], text: str) -> list:
        eos = getattr(self.tokenizer, "eos_token", None)
        spans = []
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            before = self._render(conversation, messages[:i], add_generation_prompt=True)[0]
            through = self._render(conversation, messages[: i + 1])[0]
            if not (text.startswith(through) and through.startswith(before)):
                raise RecordError(
                    f"the tokenizer's chat template does not render message {i} as an extension of the ones "
                    "before it, so its trainable part cannot be found",
                    record_id=conversation.id,
                    hint="add {% generation %} markers to the template, or use a named template",
                )
            end = len(through)
            if isinstance(eos, str) and eos and (found := through.rfind(eos, len(before))) != -1:
                end = found + len(eos)
            spans.append((len(before), end))
        return spans

    def __repr__(self) -> str:
        return f"HFTemplate(tokenizer={type(self.tokenizer).__name__ if self.tokenizer is not None else None})"


def resolve_template(name: str, tokenizer: Any = None) -> Template:
    """The registered template ``name``, bound to ``tokenizer`` when it needs one (``hf``)."""
    from ru_llm.dataset.registry import get_template  # lazily: the registry loads plugins

    template = get_template(name)
    bind = getattr(template, "bind", None)
    if not callable(bind):
        return template
    if tokenizer is None:
        raise ConfigError(f"template {name!r} needs a tokenizer", hint="pass --tokenizer DIR")
    return bind(tokenizer)


def load_tokenizer(path: str | os.PathLike[str]) -> Any:
    """A transformers tokenizer from a local directory or a hub id (core's one loader; no remote code)."""
    from ru_llm.core.hf import load_tokenizer as core_load_tokenizer

    return core_load_tokenizer(path)
