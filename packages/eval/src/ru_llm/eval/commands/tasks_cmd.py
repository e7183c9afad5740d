"""`ru-llm eval tasks`."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def tasks_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List every registered evaluation task with its data source."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ru_llm.eval.registry import metrics

    entries = metrics().entries()
    if as_json:
        rows = [{"name": e.name, "description": e.obj.description, "plugin": e.plugin} for e in entries]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title="evaluation tasks")
    table.add_column("task")
    table.add_column("plugin")
    table.add_column("what and data", overflow="fold")
    for entry in entries:
        table.add_row(entry.name, entry.plugin or "-", entry.obj.description)
    table.add_row(
        "lm_eval:<task>",
        "lm-eval",
        escape('any lm-evaluation-harness task on the same model and adapter (pip install "ru-llm-eval[lm-eval]")'),
    )
    Console().print(table)
