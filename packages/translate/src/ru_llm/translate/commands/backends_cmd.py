"""`ru-llm translate backends`: the registered MT backends with their default models' licences."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def backends_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List MT backends with their default model and its licence."""
    from ru_llm.translate.registry import translators

    rows = [b.info() for b in translators()]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="MT backends")
    for column in ("name", "default model", "model licence", "commercial"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["default_model"] or "-", row["model_license"] or "-",
                      "yes" if row["commercial"] else "[red]no[/]")  # fmt: skip
    Console().print(table)
