"""`ru-llm eval tasks` and `ru-llm eval models`."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def tasks_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List every registered evaluation task with its data source."""
    from rich.markup import escape

    from ru_llm.eval.registry import eval_tasks
    from ru_llm.eval.task import TakesOptions, WholeRunTask

    entries = eval_tasks().entries()
    if as_json:
        rows = [
            {
                "name": e.name,
                "description": e.obj.description,
                "plugin": e.plugin,
                "kind": "whole-run" if isinstance(e.obj, WholeRunTask) else "per-item",
                "options": _options(e.obj.options_type) if isinstance(e.obj, TakesOptions) else {},
            }
            for e in entries
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    rows = [(e.name, e.plugin or "-", e.obj.description) for e in entries]
    lm_eval = 'any lm-evaluation-harness task on the same model and adapter (pip install "ru-llm-eval[lm-eval]")'
    rows.append(("lm_eval:<task>", "lm-eval", escape(lm_eval)))
    _print_table("evaluation tasks", ("task", "plugin", "what and data"), rows)


def _print_table(title: str, columns: tuple[str, str, str], rows: list[tuple[str, str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for n, column in enumerate(columns):
        table.add_column(column, overflow="fold" if n == len(columns) - 1 else "ellipsis")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _options(cls: type) -> dict[str, str]:
    """A task's ``--task-option`` keys with their help and default."""
    import dataclasses

    return {f.name: f"{f.metadata.get('help', '')} (default {f.default!r})".strip() for f in dataclasses.fields(cls)}


def models_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List every registered model kind (`eval run --model-kind NAME`)."""
    from ru_llm.eval.registry import eval_models

    entries = eval_models().entries()
    if as_json:
        rows = [{"name": e.name, "description": e.obj.description, "plugin": e.plugin} for e in entries]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    _print_table(
        "model kinds", ("kind", "plugin", "what"), [(e.name, e.plugin or "-", e.obj.description) for e in entries]
    )
