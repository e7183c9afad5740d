"""Hooks defined by the ru-llm command line."""

from __future__ import annotations

from ru_llm.core.plugins import hookspec


@hookspec
def register_commands(app: object) -> None:
    """Add commands to the ``ru-llm`` command line.

    :param app: the root ``typer.Typer``. Add a sub-app with ``app.add_typer(sub, name=...)`` or a
        command with ``@app.command()``; mount a ``typer.Typer``, never a click object. A name that
        is already taken is an error naming both plugins. Returns nothing; every implementation is
        called, built-ins first.
    """
