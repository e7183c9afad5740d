"""`ru-llm tokenize train` (learn a vocabulary from scratch) and `ru-llm tokenize trainers` (list the learners)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ru_llm.tokenize.commands.output import CORPUS_HELP, print_report, short_list, with_progress

if TYPE_CHECKING:
    from ru_llm.tokenize.trainers import TokenizerTrainer, TrainReport


def train_tokenizer(
    trainer: str | TokenizerTrainer,
    texts: Iterable[tuple[str, float]],
    vocab_size: int,
    out_dir: str | Path,
    *,
    special_tokens: Sequence[str] = (),
    overwrite: bool = False,
    on_text: Callable[[], None] | None = None,
) -> TrainReport:
    """Learn a ``vocab_size`` vocabulary with a registered trainer (by name) and write it to ``out_dir``.

    The cheap checks (trainer name, ``out_dir``, ``vocab_size``) run before the corpus is read. The result
    is written to a temp dir beside ``out_dir``, checked with
    :func:`~ru_llm.tokenize.produced.verify_tokenizer` and renamed into place: a failure leaves nothing.
    """
    from ru_llm.core.atomic import atomic_directory
    from ru_llm.core.errors import RuLLMError
    from ru_llm.tokenize.produced import check_out_dir, verify_tokenizer
    from ru_llm.tokenize.registry import tokenizer_trainers
    from ru_llm.tokenize.replace import check_vocab_size

    chosen = tokenizer_trainers().get(trainer) if isinstance(trainer, str) else trainer
    for token in special_tokens:
        if not token or token.isspace():
            raise RuLLMError("--special: an empty special token", hint="pass the token's text, e.g. --special '<pad>'")
    duplicates = sorted({token for token in special_tokens if list(special_tokens).count(token) > 1})
    if duplicates:
        raise RuLLMError(f"--special {duplicates[0]!r}: given twice", hint="pass each special token once")
    out = Path(out_dir).expanduser()
    check_out_dir(out, overwrite)
    check_vocab_size(chosen, vocab_size, None, list(special_tokens))
    with atomic_directory(out, command="tokenize train") as work:
        report = chosen.train(texts, vocab_size, work, special_tokens=list(special_tokens), on_text=on_text)
        verify_tokenizer(work)
    return report


def train_command(
    trainer: Annotated[
        str, typer.Option("--trainer", help="byte-level-bpe, sentencepiece-bpe, sentencepiece-unigram, or a plugin's.")
    ],
    corpus: Annotated[list[str], typer.Option("--corpus", help=CORPUS_HELP)],
    vocab_size: Annotated[int, typer.Option("--vocab-size", help="Tokens in all, special tokens included.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory for the new tokenizer.")],
    special: Annotated[
        list[str] | None,
        typer.Option("--special", help="A special token to reserve; repeat for more (default: the trainer's own)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output directory.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of a table.")] = False,
) -> None:
    """Learn a vocabulary from scratch (a tokenizer for a new model; to keep a model's tokens see `replace`)."""
    from rich.console import Console

    from ru_llm.tokenize.corpus import weighted_texts

    console = Console(stderr=True)
    with console.status("checking the corpus") as status:
        texts = with_progress(weighted_texts(corpus), status)
        report = train_tokenizer(trainer, texts, vocab_size, out, special_tokens=special or (), overwrite=overwrite)
    print_report(
        {**report.to_dict(), "out_dir": str(out)},
        as_json=as_json,
        title=f"tokenizer trained into {out}",
        rows=[
            ("trainer", report.trainer),
            ("vocabulary", f"{report.vocab_size:,}"),
            ("special tokens", short_list(report.special_tokens)),
            ("texts read", f"{report.texts:,}"),
            ("seconds", f"{report.seconds:.1f}"),
        ],
        footer="learned tokens: " + ", ".join(repr(t) for t in report.examples),
    )


def trainers_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the vocabulary learners `train --trainer` and `replace --trainer` take (built-in and plugins')."""
    from ru_llm.tokenize.registry import tokenizer_trainers

    rows = [
        {
            "name": entry.name,
            "aliases": list(entry.aliases),
            "plugin": entry.plugin,
            "description": getattr(entry.obj, "description", ""),
        }
        for entry in tokenizer_trainers().entries()
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="tokenizer trainers")
    for column in ("name", "aliases", "plugin", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["name"], ", ".join(row["aliases"]) or "-", row["plugin"] or "-", row["description"] or "-")
    Console().print(table)
