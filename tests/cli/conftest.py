"""Fixtures for driving the ``ru-llm`` Typer app in-process."""

from __future__ import annotations

import types
from collections.abc import Callable

import pytest
from click.testing import Result

from ru_llm.core import hookimpl
from ru_llm.core.plugins import PluginManager


@pytest.fixture
def invoke(cli: Callable[..., Result]) -> Callable[..., Result]:
    """``invoke(args, env=None)``: the shared ``cli`` fixture with the arguments as one list."""

    def run(args: list[str], env: dict[str, str] | None = None) -> Result:
        return cli(*args, env=env)

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
