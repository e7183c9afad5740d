"""Mounting a package's sub-app, and saying plainly when it has no commands yet."""

from __future__ import annotations

import importlib

import typer

from ru_llm.core.errors import NotAvailableError


def mount_package_app(app: typer.Typer, module: str, *, issue: str | None, panel: str) -> None:
    """Add ``module.app`` to ``app``; a sub-app without commands answers "not available yet", exit 1."""
    sub: typer.Typer = importlib.import_module(module).app
    name = sub.info.name
    if not sub.registered_commands and not sub.registered_groups:
        sub = _placeholder(name, sub.info.help, issue)
    app.add_typer(sub, name=name, rich_help_panel=panel)


def _placeholder(name: str, help: str, issue: str | None) -> typer.Typer:
    placeholder = typer.Typer(name=name, help=help)
    where = f"issue {issue}" if issue else "a later release"

    @placeholder.callback(invoke_without_command=True)
    def not_available() -> None:
        raise NotAvailableError(
            f"`ru-llm {name}` is not available yet: its commands arrive with {where}",
            hint="`ru-llm --help` lists what works today",
        )

    return placeholder
