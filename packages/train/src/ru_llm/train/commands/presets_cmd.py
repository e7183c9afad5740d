"""`ru-llm train presets`: the shipped presets and the strategies they use."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def presets_command(
    name: Annotated[str | None, typer.Argument(help="Show one preset's full YAML.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the shipped run-config presets (use one with `preset: NAME`) and the trainer strategies."""
    from rich.console import Console
    from rich.table import Table

    from ru_llm.train.configfile import dump_yaml, preset_values, presets
    from ru_llm.train.registry import trainer_strategies

    found = presets()
    if name is not None:
        preset_values(name)  # an unknown name lists the known ones
        typer.echo(f"# {found[name].description}\n" + dump_yaml(found[name].values), nl=False)
        return
    if as_json:
        rows = [{"name": p.name, "description": p.description, "values": p.values} for p in found.values()]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    console = Console()
    table = Table(title="presets (preset: NAME in a run config)")
    table.add_column("preset")
    table.add_column("strategy")
    table.add_column("what it is", overflow="fold")
    for preset in found.values():
        table.add_row(preset.name, str(preset.values.get("strategy", "-")), preset.description)
    console.print(table)
    strategies = Table(title="trainer strategies (strategy: NAME)")
    strategies.add_column("strategy")
    strategies.add_column("plugin")
    strategies.add_column("what it trains", overflow="fold")
    for entry in trainer_strategies().entries():
        strategies.add_row(entry.name, entry.plugin or "-", entry.obj.description)
    console.print(strategies)
