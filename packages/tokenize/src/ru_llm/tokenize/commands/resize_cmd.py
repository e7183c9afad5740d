"""`ru-llm tokenize resize-model`: fit a model's embeddings to a new tokenizer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer


def resize_model_command(
    model: Annotated[Path, typer.Option("--model", help="Model directory (config, safetensors, its own tokenizer).")],
    tokenizer: Annotated[
        Path, typer.Option("--tokenizer", help="Directory of the new (extended or replaced) tokenizer.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory: resized model plus the new tokenizer.")],
    init: Annotated[
        str, typer.Option("--init", help="New-row initializer: mean, first-weighted, normal, or a plugin's.")
    ] = "mean",
    pad_to_multiple_of: Annotated[
        int, typer.Option(help="Pad the vocabulary to a multiple of this (1: no padding).")
    ] = 64,
    mode: Annotated[str, typer.Option(help="auto; extend (refuse a tokenizer that moves old ids); replace.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed for random initializers (normal).")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output directory.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of a table.")] = False,
) -> None:
    """Resize input embeddings and lm_head to a new tokenizer; new rows from the old sub-token rows."""
    from rich.console import Console

    from ru_llm.core.errors import ConfigError
    from ru_llm.tokenize.resize import MODES, resize_model

    if pad_to_multiple_of < 1:
        raise ConfigError(f"--pad-to-multiple-of must be at least 1, not {pad_to_multiple_of}")
    if mode not in MODES:
        raise ConfigError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    console = Console(stderr=True)
    with console.status("resizing") as status:
        report = resize_model(
            model, tokenizer, out, initializer=init, pad_to_multiple_of=pad_to_multiple_of, mode=mode, seed=seed,
            overwrite=overwrite, progress=lambda stage: status.update(stage),
        )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    _print_report(report, console)


def _print_report(report: Any, console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"model resized into {report.out_dir}")
    table.add_column("")
    table.add_column("old", justify="right")
    table.add_column("new", justify="right")
    table.add_row("tokenizer ids", str(report.old_vocab), str(report.new_vocab))
    table.add_row("embedding rows", str(report.old_rows), str(report.new_rows))
    console.print(table)
    console.print(
        f"{report.mode}: {report.copied} rows copied by token string, {report.initialized} initialised "
        f"({report.initializer}), {report.padding} padding rows; embeddings {'tied' if report.tied else 'untied'}"
    )
    if report.without_sub_tokens:
        console.print(f"[yellow]{report.without_sub_tokens} new tokens had no old sub-tokens: mean of all rows[/]")
    for example in report.examples:
        console.print(f"  {example['id']}: {example['text']!r} <- {' + '.join(example['sub_tokens']) or '(none)'}")
    for where, (old, new) in report.ids.items():
        console.print(f"  {where}: {old} -> {new}")
    for warning in report.warnings:
        console.print(f"[yellow]warning: {warning}[/]")
