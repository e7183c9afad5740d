"""`ru-llm dataset stats FILE`: counts, languages, licences and lengths of a conversation or preference file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def stats_command(
    file: Annotated[Path, typer.Argument(help="A conversation or preference-pair JSONL file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Counts, languages, licences and lengths of a conversation or preference file."""
    from ru_llm.dataset.stats import file_stats

    data = file_stats(file).to_dict()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=str(file), show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
        table.add_row(key.replace("_", " "), str(value))
    Console().print(table)
