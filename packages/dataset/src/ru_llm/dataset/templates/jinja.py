"""Rendering Jinja chat templates the way transformers does, with the ``{% generation %}`` spans.

The environment mirrors ``transformers``' (sandboxed, ``trim_blocks``, ``lstrip_blocks``,
``loopcontrols``, a non-escaping ``tojson``, ``raise_exception``, ``strftime_now``), so a template
renders here exactly as in ``apply_chat_template``, without importing transformers.
"""

from __future__ import annotations

import contextvars
import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ru_llm.core.conversation import Conversation
from ru_llm.core.errors import ConfigError
from ru_llm.core.jsonl import atomic_open
from ru_llm.dataset.templates import Segment, Template

# Per render: the chunks written so far and the (start, end) spans found; None when not tracking.
_TRACKING: contextvars.ContextVar[tuple[list[str], list[tuple[int, int]]] | None] = contextvars.ContextVar(
    "ru_llm_generation_tracking", default=None
)


class GenerationExtension(jinja2.ext.Extension):
    """``{% generation %}…{% endgeneration %}``: records where its output lands in the rendered text."""

    tags: ClassVar[set[str]] = {"generation"}

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_track", []), [], [], body).set_lineno(lineno)

    def _track(self, caller: Any) -> str:
        text = caller()
        tracking = _TRACKING.get()
        if tracking is not None:
            chunks, spans = tracking
            start = sum(map(len, chunks))
            spans.append((start, start + len(text)))
        return text


def _raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, separators: Any = None, sort_keys=False):
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


@lru_cache(maxsize=64)
def compile_chat_template(source: str) -> jinja2.Template:
    """A compiled chat template (cached by its source)."""
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationExtension, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(source)


def render_chat_template(
    source: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    add_generation_prompt: bool = False,
    **variables: Any,
) -> tuple[str, list[tuple[int, int]]]:
    """The rendered text and the character spans its ``{% generation %}`` blocks produced.

    :param variables: extra template variables, e.g. ``bos_token``; a template error propagates as
        :class:`jinja2.TemplateError`.
    """
    template = compile_chat_template(source)
    chunks: list[str] = []
    spans: list[tuple[int, int]] = []
    token = _TRACKING.set((chunks, spans))
    try:
        # generate() yields output as it is produced, so the chunks so far are the text before a block.
        for chunk in template.generate(
            messages=[dict(m) for m in messages], add_generation_prompt=add_generation_prompt, **variables
        ):
            chunks.append(chunk)
    finally:
        _TRACKING.reset(token)
    return "".join(chunks), spans


def segments_from_spans(text: str, spans: Sequence[tuple[int, int]]) -> list[Segment]:
    """Cut ``text`` into segments, trainable inside ``spans`` (which may overlap or be empty)."""
    segments: list[Segment] = []
    position = 0
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        start = max(start, position)
        if end <= start:
            continue
        if start > position:
            segments.append(Segment(text[position:start], False))
        if segments and segments[-1].trainable:
            segments[-1] = Segment(segments[-1].text + text[start:end], True)
        else:
            segments.append(Segment(text[start:end], True))
        position = end
    if position < len(text):
        segments.append(Segment(text[position:], False))
    return segments


def message_dicts(conversation: Conversation) -> list[dict[str, str]]:
    """A conversation's messages in the form chat templates read."""
    return [m.to_dict() for m in conversation.messages]


def export_chat_template(template: Template) -> str:
    """The template as a Jinja ``chat_template`` string, with ``{% generation %}`` around trainable text."""
    export = getattr(template, "chat_template", None)
    if not callable(export):
        raise ConfigError(
            f"template {template.name!r} cannot export itself as a Jinja chat_template",
            hint="give the template a chat_template() method returning the Jinja source",
        )
    return export()


def save_chat_template(template: Template, tokenizer_dir: str | os.PathLike[str]) -> Path:
    """Write the template into a tokenizer directory so transformers, vLLM and llama.cpp render alike.

    Writes ``chat_template.jinja`` (what transformers reads first) and, when ``tokenizer_config.json``
    exists, its ``chat_template`` key too (what older tools and GGUF converters read). Returns the
    ``.jinja`` path.
    """
    directory = Path(tokenizer_dir)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: not a directory", hint="pass the tokenizer (or model) directory")
    source = export_chat_template(template)
    target = directory / "chat_template.jinja"
    with atomic_open(target) as fh:
        fh.write(source)
    config_path = directory / "tokenizer_config.json"
    if config_path.is_file():
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise ConfigError(f"{config_path}: not valid JSON: {e}", hint="fix or delete the file") from None
        config["chat_template"] = source
        with atomic_open(config_path) as fh:
            json.dump(config, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
    return target
