"""The built-in commands, registered through ``register_commands`` like any plugin's."""

from __future__ import annotations

import importlib

import typer

from ru_llm.cli.models_cmd import models_command
from ru_llm.cli.plugins_cmd import plugins_command
from ru_llm.core.plugins import hookimpl

# Each package's sub-app lives in the package (``module.app``, a ``typer.Typer`` named for its command).
PACKAGE_APPS = (
    "ru_llm.translate.commands",
    "ru_llm.dataset.commands",
    "ru_llm.tokenize.commands",
    "ru_llm.train.commands",
    "ru_llm.eval.commands",
)


@hookimpl
def register_commands(app: typer.Typer) -> None:
    for module in PACKAGE_APPS:
        sub: typer.Typer = importlib.import_module(module).app
        app.add_typer(sub, name=sub.info.name, rich_help_panel="Pipeline")
    from ru_llm.eval.commands.chat_cmd import chat_command  # eval owns loading a model to generate with

    app.command("chat", rich_help_panel="Pipeline")(chat_command)
    app.command("plugins", rich_help_panel="Toolkit")(plugins_command)
    app.command("models", rich_help_panel="Toolkit")(models_command)
