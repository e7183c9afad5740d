"""Conversations as a template renders them, on a rich console: trainable text in green, tokens with labels.

``ru-llm dataset render`` (:mod:`ru_llm.dataset.commands.render_cmd`) reads the file and the options and
calls :func:`show_conversation` for each conversation and :func:`show_pair` for each preference pair.
A pair is shown as preference training sees it: only the final reply is trainable (earlier assistant
turns of its prompt are context), and its tokens are those of
:func:`~ru_llm.dataset.templates.preference.tokenize_preference`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ru_llm.core.conversation import Conversation
from ru_llm.core.labels import IGNORE_INDEX
from ru_llm.dataset.templates import Segment, Template

if TYPE_CHECKING:
    from ru_llm.dataset.preference import PreferencePair

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
    _show_segments(console, template.render(conv))
    if tok is not None:
        show_tokens(console, conv, template, tok, max_length)


def show_pair(console: Any, pair: PreferencePair, template: Template, tok: Any, *, max_length: int | None) -> None:
    """Print the prompt with each reply, only that final reply trainable, as preference training sees it;
    with ``tok``, the tokens :func:`~ru_llm.dataset.templates.preference.tokenize_preference` gives."""
    from rich.rule import Rule

    from ru_llm.dataset.templates.preference import final_reply_only, tokenize_preference

    tokens = None
    for side, conv in (("chosen", pair.chosen_conversation()), ("rejected", pair.rejected_conversation())):
        console.print(Rule(f"{pair.id} ({side}) · {template.name}", align="left"))
        _show_segments(console, final_reply_only(template, pair.prompt, template.render(conv)))
        if tok is None:
            continue
        if tokens is None:  # after the chosen text, so a pair that cannot be tokenized still shows it
            tokens = tokenize_preference(pair.prompt, pair.chosen, pair.rejected, template, tok, max_length=max_length)
        ids = tokens.chosen_ids if side == "chosen" else tokens.rejected_ids
        _show_ids(console, tok, tokens.prompt_ids, ids)
        if tokens.truncated:
            console.print(f"[yellow]a reply is cut to max_length ({max_length} tokens)[/]")


def _show_segments(console: Any, segments: list[Segment]) -> None:
    from rich.text import Text

    text = Text()
    for segment in segments:
        text.append(segment.text, style=TRAINED if segment.trainable else CONTEXT)
    console.print(text)
    console.print(char_summary(segments))
    if not any(s.trainable and s.text for s in segments):
        console.print("[bold red]nothing to train on: tokenizing this conversation would be an error[/]")


def char_summary(segments: list[Segment]) -> str:
    total = sum(len(s.text) for s in segments)
    trained = sum(len(s.text) for s in segments if s.trainable)
    return f"characters: {total}, trainable: {trained}"


def show_tokens(console: Any, conv: Conversation, template: Template, tok: Any, max_length: int | None) -> None:
    """Each token as ``piece(id, label)``, like axolotl's ``preprocess --debug`` (a space shown as ▁)."""
    from ru_llm.dataset.templates.labels import tokenize_conversation

    out = tokenize_conversation(conv, template, tok, max_length=max_length)
    _show_labels(console, tok, out["input_ids"], out["labels"])


def _show_ids(console: Any, tok: Any, context: list[int], trained: list[int]) -> None:
    """``context`` then ``trained`` ids, labelled as a trainer would label them."""
    _show_labels(console, tok, [*context, *trained], [IGNORE_INDEX] * len(context) + list(trained))


def _show_labels(console: Any, tok: Any, ids: list[int], labels: list[int]) -> None:
    from rich.text import Text

    from ru_llm.dataset.token_view import token_pieces

    line = Text()
    for token, label, piece in zip(ids, labels, token_pieces(tok, ids), strict=True):
        line.append(f"{piece}({token}, {label}) ", style=TRAINED if label != IGNORE_INDEX else CONTEXT)
    console.print(line)
    trained = sum(label != IGNORE_INDEX for label in labels)
    console.print(f"tokens: {len(ids)}, trainable: {trained}")
