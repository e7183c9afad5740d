"""`ru-llm dataset list`: the registered dataset builders with their licences."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List dataset builders with their licence and whether commercial use is allowed."""
    from ru_llm.dataset.registry import dataset_builders

    rows = [{**entry.obj.info(), "plugin": entry.plugin} for entry in dataset_builders().entries()]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="dataset builders")
    for column in ("name", "hub id", "licence", "commercial", "lang"):
        table.add_column(column, overflow="fold")
    for row in rows:
        commercial = "[green]yes[/]" if row["commercial"] else "[red]no[/]"
        table.add_row(row["name"], row["hub_id"] or "-", row["license"], commercial, row["lang"] or "-")
    Console().print(table)
