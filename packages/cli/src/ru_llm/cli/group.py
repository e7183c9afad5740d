"""The root command group: turns :class:`RuLLMError` into a one-line message and exit code 1."""

from __future__ import annotations

from typing import Any

import typer.core

from ru_llm.cli.errors import exit_with_user_error
from ru_llm.core.errors import RuLLMError


class RuLLMGroup(typer.core.TyperGroup):
    """Catches user errors raised anywhere below it; real bugs keep their traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except RuLLMError as error:
            exit_with_user_error(error)
