"""`ru-llm models`: the base-model families the toolkit knows."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from ru_llm.core.families import ModelFamily, model_families, model_family_for


def _family_dict(family: ModelFamily, plugin: str | None) -> dict[str, Any]:
    data = asdict(family)
    data["plugin"] = plugin
    return data


def models_command(
    model: Annotated[
        str | None,
        typer.Argument(help="A family name, or a model directory whose config.json tells its family."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List model families, or show the family of one model."""
    registry = model_families()
    if model is None:
        entries = registry.entries()
    elif Path(model).exists() or "/" in model or "\\" in model:  # a path (load_model_config says if missing)
        family = model_family_for(Path(model))
        entries = [registry.entry(family.name)]
    else:
        entries = [registry.entry(model)]
    if as_json:
        typer.echo(json.dumps([_family_dict(e.obj, e.plugin) for e in entries], ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    if model is not None:
        _print_family(entries[0].obj, entries[0].plugin)
        return
    table = Table(title="ru-llm model families")
    for column in ("family", "model types", "LoRA targets", "tied", "template"):
        table.add_column(column, overflow="fold")
    for e in entries:
        f: ModelFamily = e.obj
        table.add_row(
            f.name + (f" ({', '.join(f.aliases)})" if f.aliases else ""),
            ", ".join(f.model_types),
            ", ".join(f.lora_target_modules),
            "yes" if f.tied_embeddings else "no",
            f.default_template,
        )
    Console().print(table)


def _print_family(family: ModelFamily, plugin: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"model family {family.name}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in _family_dict(family, plugin).items():
        if isinstance(value, (list, tuple)):
            value = ", ".join(value) or "-"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        table.add_row(key, "-" if value is None else str(value))
    Console().print(table)
