"""`ru-llm dataset render FILE --template NAME`: conversations as a template renders them.

A preference pair (a record with ``chosen``/``rejected``) is shown twice, the prompt followed by the
chosen reply and then by the rejected one, with only that final reply trainable as in preference
training (earlier assistant turns of the prompt are context); with ``--prompt``, its prompt once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ru_llm.core.conversation import Conversation
from ru_llm.core.errors import ConfigError, RecordError
from ru_llm.core.jsonl import JsonlReader
from ru_llm.dataset.preference import PreferencePair, is_preference_record, preference_from_dict


def _with_location(obj: Any, *, location: str | None = None) -> tuple[str | None, Conversation | PreferencePair]:
    if is_preference_record(obj):
        return location, preference_from_dict(obj, location=location)
    return location, Conversation.from_dict(obj, location=location)


def render_command(
    file: Annotated[
        Path, typer.Argument(help="A conversations JSONL file (one conversation, or one preference pair, per line).")
    ],
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

    from ru_llm.dataset.render import show_conversation, show_pair
    from ru_llm.dataset.templates.hf import load_tokenizer, resolve_template

    if limit < 0:
        raise ConfigError(f"--limit must be 0 (all) or more, got {limit}")
    tok = load_tokenizer(tokenizer) if tokenizer is not None else None
    chosen = resolve_template(template, tok)
    console = Console(highlight=False, soft_wrap=True)
    shown = 0
    for location, record in JsonlReader(file, _with_location):
        if limit and shown >= limit:
            break
        try:
            if isinstance(record, PreferencePair) and not prompt:
                show_pair(console, record, chosen, tok, max_length=max_length)
            else:
                conv = record.prompt if isinstance(record, PreferencePair) else record
                show_conversation(console, conv, chosen, tok, max_length=max_length, prompt=prompt)
        except RecordError as e:
            # Template errors know the record but not where it came from.
            raise RecordError(e.reason, record_id=record.id, location=location, hint=e.hint) from None
        shown += 1
    if not shown:
        console.print(f"{file}: no conversations")
