"""Conversations as a template renders them, on a rich console: trainable text in green, tokens with labels.

``ru-llm dataset render`` (:mod:`ru_llm.dataset.commands.render_cmd`) reads the file and the options and
calls :func:`show_conversation` for each conversation.
"""

from __future__ import annotations

from typing import Any

from ru_llm.core.conversation import Conversation
from ru_llm.dataset.templates import Segment, Template

TRAINED = "bold green"
CONTEXT = "dim"


def show_conversation(
    console: Any, conv: Conversation, template: Template, tok: Any, *, max_length: int | None, prompt: bool
) -> None:
    """Print ``conv`` as ``template`` renders it (or its generation prompt), then its tokens if ``tok`` is given."""
    from rich.rule import Rule
    from rich.text import Text

    console.print(Rule(f"{conv.id} · {template.name}", align="left"))
    if prompt:
        console.print(Text(template.render_prompt(conv), style=CONTEXT))
        return
    segments = template.render(conv)
    text = Text()
    for segment in segments:
        text.append(segment.text, style=TRAINED if segment.trainable else CONTEXT)
    console.print(text)
    console.print(char_summary(segments))
    if not any(s.trainable and s.text for s in segments):
        console.print("[bold red]nothing to train on: tokenizing this conversation would be an error[/]")
    if tok is not None:
        show_tokens(console, conv, template, tok, max_length)


def char_summary(segments: list[Segment]) -> str:
    total = sum(len(s.text) for s in segments)
    trained = sum(len(s.text) for s in segments if s.trainable)
    return f"characters: {total}, trainable: {trained}"


def show_tokens(console: Any, conv: Conversation, template: Template, tok: Any, max_length: int | None) -> None:
    """Each token as ``piece(id, label)``, like axolotl's ``preprocess --debug``."""
    from rich.text import Text

    from ru_llm.dataset.templates.labels import IGNORE_INDEX, tokenize_conversation

    out = tokenize_conversation(conv, template, tok, max_length=max_length)
    line = Text()
    for token, label in zip(out["input_ids"], out["labels"], strict=True):
        piece = tok.decode([token]).replace("\n", "\\n").replace("\t", "\\t")
        line.append(f"{piece}({token}, {label}) ", style=TRAINED if label != IGNORE_INDEX else CONTEXT)
    console.print(line)
    trained = sum(label != IGNORE_INDEX for label in out["labels"])
    console.print(f"tokens: {len(out['input_ids'])}, trainable: {trained}")
