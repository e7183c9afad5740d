"""`ru-llm tokenize extend`: add Russian tokens to a base tokenizer, keeping every base token and id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def extend_command(
    base_spec: Annotated[
        str,
        typer.Option(
            "--base",
            help="Base tokenizer: a directory with a byte-level BPE tokenizer.json or a SentencePiece BPE "
            "tokenizer.model (with its tokenizer_config.json), or a hub id.",
        ),
    ],
    corpus: Annotated[
        list[str],
        typer.Option(
            "--corpus",
            help="wordfreq:ru, a UTF-8 text file or a directory of *.txt; repeat to combine; "
            "append @WEIGHT to scale one (e.g. train.txt@10).",
        ),
    ],
    add: Annotated[int, typer.Option("--add", help="How many new tokens to learn.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory for the extended tokenizer.")],
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output directory.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of a table.")] = False,
) -> None:
    """Add Russian tokens after every base token: BPE merges for byte-level BPE bases (Qwen2/2.5/3, LLaMA-3,
    Mistral-Nemo), pieces for SentencePiece BPE bases (LLaMA-2, Mistral-7B)."""
    from rich.console import Console

    from ru_llm.tokenize.corpus import weighted_texts
    from ru_llm.tokenize.extend import check_base
    from ru_llm.tokenize.loading import tokenizer_dir
    from ru_llm.tokenize.produced import check_out_dir

    # Cheap checks first: a wrong --base, --out or --corpus fails before the corpus is read.
    base = tokenizer_dir(base_spec)
    extend = check_base(base)
    check_out_dir(out, overwrite, base)
    texts = weighted_texts(corpus)
    console = Console(stderr=True)
    with console.status("reading the corpus") as status:
        seen = 0

        def on_text() -> None:
            nonlocal seen
            seen += 1
            if seen % 100_000 == 0:
                status.update(f"reading the corpus: {seen:,} texts")

        report = extend(base, texts, add, out, overwrite=overwrite, on_text=on_text)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"tokenizer extended into {report.out_dir}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("base vocabulary", f"{report.base_vocab:,}")
    table.add_row("new tokens", f"{report.new_tokens:,}")
    table.add_row("new merges", f"{report.new_merges:,}")
    table.add_row("first new id", str(report.first_new_id))
    table.add_row("distinct Cyrillic words", f"{report.pre_tokens:,}")
    table.add_row("seconds", f"{report.seconds:.1f}")
    console.print(table)
    console.print("first new tokens: " + ", ".join(repr(t) for t in report.examples))
