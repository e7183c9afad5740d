"""`ru-llm tokenize stats`: how many tokens each tokenizer spends on each text, side by side."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer


def tokenizer_labels(specs: list[str]) -> list[str]:
    """Short names for the table: a directory's name, or the hub id; the full spec where names clash."""
    short = [(Path(spec).name or spec) if Path(spec).is_dir() else spec for spec in specs]
    return [s if short.count(s) == 1 else spec for s, spec in zip(short, specs, strict=True)]


def stats_rows(tokenizers: dict[str, Any], texts: list[Path], *, progress: Any = None) -> list[dict[str, Any]]:
    """One row per (text, tokenizer): ``text``, ``tokenizer``, the counts, and the two ratios."""
    from ru_llm.tokenize.stats import text_file_stats

    rows = []
    for text in texts:
        for spec, tokenizer in tokenizers.items():
            task = None
            if progress is not None:
                task = progress.add_task(f"{text.name} · {spec}", total=text.stat().st_size)
            on_bytes = (lambda n, task=task: progress.advance(task, n)) if task is not None else None
            rows.append({"text": str(text), "tokenizer": spec, **text_file_stats(tokenizer, text, on_bytes=on_bytes)})
    return rows


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def render_table(rows: list[dict[str, Any]]) -> Any:
    """A rich table: texts in sections, tokenizers side by side within each."""
    from rich.table import Table

    specs = list(dict.fromkeys(row["tokenizer"] for row in rows))
    labels = dict(zip(specs, tokenizer_labels(specs), strict=True))
    table = Table(title="Tokenizer efficiency (no special tokens; words are \\w+ runs)")
    table.add_column("text", overflow="fold")
    table.add_column("tokenizer", overflow="fold")
    for name in ("chars/token", "Cyrillic chars/token", "tokens/word", "tokens", "characters", "words"):
        table.add_column(name, justify="right", no_wrap=True)
    previous = None
    for row in rows:
        if previous is not None and row["text"] != previous:
            table.add_section()
        table.add_row(
            Path(row["text"]).name if row["text"] != previous else "",
            labels[row["tokenizer"]],
            _ratio(row["chars_per_token"]),
            _ratio(row["cyrillic_chars_per_token"]),
            _ratio(row["tokens_per_word"]),
            f"{row['tokens']:,}",
            f"{row['characters']:,}",
            f"{row['words']:,}",
        )
        previous = row["text"]
    return table


def stats_command(
    tokenizer: Annotated[
        list[str],
        typer.Option(
            "--tokenizer", "-t", help="Tokenizer directory or hub id; repeat to compare several.", show_default=False
        ),
    ],
    text: Annotated[
        list[Path],
        typer.Option(
            "--text", help="UTF-8 text file (read in chunks; any size); repeat for several.", show_default=False
        ),
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list of rows instead of a table.")] = False,
) -> None:
    """Characters per token and tokens per word of each tokenizer on each text, side by side."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from ru_llm.tokenize.loading import load_tokenizer
    from ru_llm.tokenize.stats import check_text_file

    for path in text:  # bad files fail before any tokenizer is loaded
        check_text_file(path)
    tokenizers = {spec: load_tokenizer(spec) for spec in dict.fromkeys(tokenizer)}
    err = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        rows = stats_rows(tokenizers, list(text), progress=progress)
    if json_output:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    else:
        Console(width=max(Console().width, 120)).print(render_table(rows))
