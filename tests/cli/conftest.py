"""Fixtures for driving the ``ru-llm`` Typer app in-process."""

from __future__ import annotations

import types
from collections.abc import Callable

import pytest
from click.testing import Result
from typer.testing import CliRunner

from ru_llm.core import hookimpl
from ru_llm.core.plugins import PluginManager

# Wide enough that rich never folds a plugin or family name across table lines.
WIDE = {"COLUMNS": "200"}


@pytest.fixture
def invoke() -> Callable[..., Result]:
    """``invoke(args, env=None)``: build the app now (after any test plugin is registered) and run it."""
    from ru_llm.cli.app import build_app

    def run(args: list[str], env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(build_app(), [str(a) for a in args], prog_name="ru-llm", env={**WIDE, **(env or {})})

    return run


@pytest.fixture
def command_plugin(plugin_manager: PluginManager) -> Callable[[str, Callable[..., None]], types.ModuleType]:
    """``command_plugin(name, register_commands)``: register a test plugin implementing that hook."""

    def register(name: str, register_commands: Callable[..., None]) -> types.ModuleType:
        module = types.ModuleType(name)
        module.register_commands = hookimpl(register_commands)  # type: ignore[attr-defined]
        plugin_manager.register(module, name=name)
        return module

    return register
