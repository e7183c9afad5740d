"""`ru-llm eval compare a.json b.json ... [--markdown report.md] [--html report.html]` (see ru_llm.eval.report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def compare_command(
    results: Annotated[list[Path], typer.Argument(help="Results files of `ru-llm eval run`.")],
    markdown: Annotated[Path | None, typer.Option(help="Also write a Markdown report here.")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write a self-contained HTML report with charts here.")] = None,
) -> None:
    """Show results side by side (base vs adapted vs LEP ...): each mean ± its standard error, and each later run
    tested against the first over the items both scored (McNemar for 0/1 scores, else a paired bootstrap);
    optionally as Markdown and as an HTML page with charts."""
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
