"""Commands that are planned but not built: they exist, take any arguments, and say so plainly."""

from __future__ import annotations

from typing import Any

from ru_llm.core.errors import NotAvailableError

# Typer/click settings that let a planned command accept the arguments it will one day take.
_ANY_ARGUMENTS = {"allow_extra_args": True, "ignore_unknown_options": True}


def add_planned_command(app: Any, name: str, *, message: str, help: str, hint: str, **command_options: Any) -> None:
    """Add ``name`` to the Typer ``app`` as a command that fails with :class:`NotAvailableError` (exit 1)."""

    def not_available() -> None:
        raise NotAvailableError(message, hint=hint)

    app.command(name, help=help, context_settings=_ANY_ARGUMENTS, **command_options)(not_available)
