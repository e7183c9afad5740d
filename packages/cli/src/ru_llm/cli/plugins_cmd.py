"""`ru-llm plugins`: every plugin with its distribution, version and hooks."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from ru_llm.core.plugins import get_plugin_manager


def plugins_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List plugins (built-in and installed) with the hooks they implement."""
    infos = get_plugin_manager().plugin_infos()
    if as_json:
        typer.echo(json.dumps([asdict(i) for i in infos], ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="ru-llm plugins")
    for column in ("plugin", "distribution", "version", "hooks", "kind"):
        table.add_column(column, overflow="fold")
    for info in infos:
        table.add_row(
            info.name,
            info.distribution or "-",
            info.version or "-",
            ", ".join(info.hooks) or "-",
            "built-in" if info.builtin else "plugin",
        )
    Console().print(table)
