"""`ru-llm tokenize extend`: add Russian tokens to a base tokenizer, keeping every base token and id."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ru_llm.tokenize.commands.output import CORPUS_HELP


def extend_command(
    base_spec: Annotated[
        str,
        typer.Option(
            "--base",
            help="Base tokenizer: a directory with a byte-level BPE tokenizer.json or a SentencePiece BPE "
            "tokenizer.model (with its tokenizer_config.json), or a hub id.",
        ),
    ],
    corpus: Annotated[list[str], typer.Option("--corpus", help=CORPUS_HELP)],
    add: Annotated[int, typer.Option("--add", help="How many new tokens to learn.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory for the extended tokenizer.")],
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output directory.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of a table.")] = False,
) -> None:
    """Add Russian tokens after every base token: BPE merges for byte-level BPE bases (Qwen2/2.5/3, LLaMA-3,
    Mistral-Nemo), pieces for SentencePiece BPE bases (LLaMA-2, Mistral-7B)."""
    from rich.console import Console

    from ru_llm.tokenize.commands.output import check_add, print_report, with_progress
    from ru_llm.tokenize.corpus import weighted_texts
    from ru_llm.tokenize.extend import check_base
    from ru_llm.tokenize.loading import tokenizer_dir
    from ru_llm.tokenize.produced import check_out_dir

    # Cheap checks first: a wrong --base, --out or --corpus fails before the corpus is read.
    check_add(add)
    base = tokenizer_dir(base_spec)
    extend = check_base(base)
    check_out_dir(out, overwrite, base)
    console = Console(stderr=True)
    with console.status("checking the corpus") as status:
        texts = with_progress(weighted_texts(corpus), status)
        report = extend(base, texts, add, out, overwrite=overwrite)
    print_report(
        report.to_dict(),
        as_json=as_json,
        title=f"tokenizer extended into {report.out_dir}",
        rows=[
            ("base vocabulary", f"{report.base_vocab:,}"),
            ("new tokens", f"{report.new_tokens:,}"),
            ("new merges", f"{report.new_merges:,}"),
            ("first new id", str(report.first_new_id)),
            ("distinct Cyrillic words", f"{report.pre_tokens:,}"),
            ("seconds", f"{report.seconds:.1f}"),
        ],
        footer="first new tokens: " + ", ".join(repr(t) for t in report.examples),
    )
