"""Rendering Jinja chat templates the way transformers does, with the ``{% generation %}`` spans.

The environment mirrors ``transformers``' (sandboxed, ``trim_blocks``, ``lstrip_blocks``,
``loopcontrols``, a non-escaping ``tojson``, ``raise_exception``, ``strftime_now``), so a template
renders here exactly as in ``apply_chat_template``, without importing transformers.

A template is exported in two variants. The *serving* one (:func:`export_chat_template`, what
:func:`save_chat_template` writes into a tokenizer) has no ``{% generation %}`` markers: plain
Jinja2 and minijinja (TGI, mistral.rs) reject that tag. The *training* one
(:func:`export_training_chat_template`) keeps them, for transformers'
``return_assistant_tokens_mask`` and our own labels; both render the same text.
"""

from __future__ import annotations

import contextvars
import json
import os
import re
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


# A generation marker tag, with its whitespace control: ``{%- generation %}``, ``{% endgeneration -%}``, ...
_MARKER = re.compile(r"\{%([-+]?)\s*(?:end)?generation\s*([-+]?)%\}")
# A ``{%- …generation %}`` alone on its line, before a tag that strips the whitespace before it anyway.
_MARKER_LINE = re.compile(r"^[ \t]*\{%-\s*(?:end)?generation\s*[-+]?%\}[ \t]*\n(?=\s*\{[{%#]-)", re.MULTILINE)


def strip_generation_markers(source: str) -> str:
    """``source`` without its ``{% generation %}``/``{% endgeneration %}`` tags, rendering the same text.

    A marker alone on its line whose neighbours strip the whitespace around it anyway (every built-in
    writes them so) goes with its line. Any other takes its whitespace control with it: ``{%-`` strips
    the whitespace before it, ``-%}`` the whitespace after it, and a plain side does what
    ``lstrip_blocks``/``trim_blocks`` (transformers' settings, where markers are understood) would do.
    """
    source = _MARKER_LINE.sub("", source)
    out = ""
    position = 0
    for match in _MARKER.finditer(source):
        out += source[position : match.start()]
        left, right = match.groups()
        if left == "-":
            out = out.rstrip()
        elif left == "":  # lstrip_blocks: spaces and tabs from the start of the line
            line_start = out.rfind("\n") + 1
            if not out[line_start:].strip(" \t"):
                out = out[:line_start]
        position = match.end()
        if right == "-":
            while position < len(source) and source[position].isspace():
                position += 1
        elif right == "" and source.startswith("\n", position):  # trim_blocks: the newline after the tag
            position += 1
    return out + source[position:]


def export_chat_template(template: Template, *, generation_markers: bool = False) -> str:
    """The template as a Jinja ``chat_template`` string.

    By default the serving variant, without ``{% generation %}`` markers, which every Jinja engine
    renders (transformers, vLLM, llama.cpp, plain Jinja2, minijinja in TGI and mistral.rs); with
    ``generation_markers=True`` the training variant, the markers around trainable text (see
    :func:`export_training_chat_template`).
    """
    export = getattr(template, "chat_template", None)
    if not callable(export):
        raise ConfigError(
            f"template {template.name!r} cannot export itself as a Jinja chat_template",
            hint="give the template a chat_template() method returning the Jinja source",
        )
    source = export()
    return source if generation_markers else strip_generation_markers(source)


def export_training_chat_template(template: Template) -> str:
    """The template as a Jinja ``chat_template`` with ``{% generation %}`` around trainable text.

    For training masks only (transformers' ``return_assistant_tokens_mask``, TRL's
    ``assistant_only_loss``): serving engines built on plain Jinja2 or minijinja reject the tag.
    """
    return export_chat_template(template, generation_markers=True)


def save_chat_template(
    template: Template, tokenizer_dir: str | os.PathLike[str], *, generation_markers: bool = False
) -> Path:
    """Write the template into a tokenizer directory so every serving engine renders alike.

    Writes ``chat_template.jinja`` (what transformers reads first) and, when ``tokenizer_config.json``
    exists, its ``chat_template`` key too (what older tools and GGUF converters read). Returns the
    ``.jinja`` path. What is saved is the serving variant, without ``{% generation %}`` markers (TGI
    and mistral.rs refuse a tokenizer whose template has them); ``generation_markers=True`` saves the
    training variant instead, for a tokenizer used only to train with transformers' assistant masks.
    """
    directory = Path(tokenizer_dir)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: not a directory", hint="pass the tokenizer (or model) directory")
    source = export_chat_template(template, generation_markers=generation_markers)
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
