"""`ru-llm eval compare a.json b.json ... [--markdown report.md] [--html report.html]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def compare_command(
    results: Annotated[list[Path], typer.Argument(help="Results files of `ru-llm eval run`.")],
    markdown: Annotated[Path | None, typer.Option(help="Also write a Markdown report here.")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write a self-contained HTML report with charts here.")] = None,
) -> None:
    """Show results side by side (base vs adapted vs LEP ...); optionally as Markdown and HTML."""
    from rich.console import Console

    from ru_llm.core.jsonl import atomic_open
    from ru_llm.eval.report import html_report, load_results, markdown_report, terminal_table

    runs = load_results(results)
    Console().print(terminal_table(runs))
    if markdown is not None:
        with atomic_open(markdown) as fh:
            fh.write(markdown_report(runs))
    if html is not None:
        with atomic_open(html) as fh:
            fh.write(html_report(runs))
