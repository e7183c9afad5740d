"""Running the ``ru-llm`` Typer app in-process, as the tests' ``cli`` fixture does (tests/conftest.py)."""

from __future__ import annotations

from typing import Any

# Wide enough that rich never folds a path, plugin or family name across table lines.
WIDE = {"COLUMNS": "200"}


def run_cli(*args: Any, input: str | None = None, env: dict[str, str | None] | None = None) -> Any:
    """``run_cli("train", "run", path)`` -> the click ``Result``; ``env`` is laid over :data:`WIDE`.

    The app is built at each call, so plugins a test registered before the call take part.
    """
    from typer.testing import CliRunner

    from ru_llm.cli.app import build_app

    arguments = [str(a) for a in args]
    return CliRunner().invoke(build_app(), arguments, input=input, prog_name="ru-llm", env={**WIDE, **(env or {})})
