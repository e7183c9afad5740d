"""Mounting a package's sub-app, and saying plainly when it has no commands yet."""

from __future__ import annotations

import importlib

import typer

from ru_llm.core.planned import add_planned_command


def mount_package_app(app: typer.Typer, module: str, *, issue: str | None, panel: str) -> None:
    """Add ``module.app`` to ``app``.

    A sub-app without commands is mounted as one command that accepts any arguments and answers
    "not available yet" (exit 1), so ``ru-llm translate dolly --source x`` says so too.
    """
    sub: typer.Typer = importlib.import_module(module).app
    name = sub.info.name
    if sub.registered_commands or sub.registered_groups:
        app.add_typer(sub, name=name, rich_help_panel=panel)
        return
    where = f"issue {issue}" if issue else "a later release"
    add_planned_command(
        app,
        name,
        message=f"`ru-llm {name}` is not available yet: its commands arrive with {where}",
        help=sub.info.help,
        hint="`ru-llm --help` lists what works today",
        rich_help_panel=panel,
    )
