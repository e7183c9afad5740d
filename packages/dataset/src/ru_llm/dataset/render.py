"""`ru-llm dataset render`: show how a template renders conversations and what the model is trained on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ru_llm.core.conversation import Conversation
from ru_llm.core.errors import ConfigError, RecordError
from ru_llm.core.jsonl import JsonlReader
from ru_llm.dataset.templates import Segment, Template

TRAINED = "bold green"
CONTEXT = "dim"


def _with_location(obj: Any, *, location: str | None = None) -> tuple[str | None, Conversation]:
    return location, Conversation.from_dict(obj, location=location)


def render_command(
    file: Annotated[Path, typer.Argument(help="A conversations JSONL file (one conversation per line).")],
    template: Annotated[
        str, typer.Option("--template", "-t", help="Template name, e.g. saiga, chatml, llama3; hf needs --tokenizer.")
    ],
    tokenizer: Annotated[
        Path | None, typer.Option(help="Tokenizer directory: also list every token with its label.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many conversations (0: all).")] = 3,
    max_length: Annotated[int | None, typer.Option(help="Truncate to this many tokens (with --tokenizer).")] = None,
    prompt: Annotated[bool, typer.Option("--prompt", help="Show the generation prompt instead.")] = False,
) -> None:
    """Show conversations as a template renders them, trainable text in green (and tokens with labels)."""
    from rich.console import Console

    from ru_llm.dataset.templates.hf import load_tokenizer, resolve_template

    if limit < 0:
        raise ConfigError(f"--limit must be 0 (all) or more, got {limit}")
    tok = load_tokenizer(tokenizer) if tokenizer is not None else None
    chosen = resolve_template(template, tok)
    console = Console(highlight=False, soft_wrap=True)
    shown = 0
    for location, conv in JsonlReader(file, _with_location):
        if limit and shown >= limit:
            break
        try:
            _show(console, conv, chosen, tok, max_length=max_length, prompt=prompt)
        except RecordError as e:
            # Template errors know the record but not where it came from.
            raise RecordError(e.reason, record_id=conv.id, location=location, hint=e.hint) from None
        shown += 1
    if not shown:
        console.print(f"{file}: no conversations")


def _show(console: Any, conv: Conversation, template: Template, tok: Any, *, max_length: int | None, prompt: bool):
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
    console.print(_char_summary(segments))
    if not any(s.trainable and s.text for s in segments):
        console.print("[bold red]nothing to train on: tokenizing this conversation would be an error[/]")
    if tok is not None:
        _show_tokens(console, conv, template, tok, max_length)


def _char_summary(segments: list[Segment]) -> str:
    total = sum(len(s.text) for s in segments)
    trained = sum(len(s.text) for s in segments if s.trainable)
    return f"characters: {total}, trainable: {trained}"


def _show_tokens(console: Any, conv: Conversation, template: Template, tok: Any, max_length: int | None) -> None:
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
