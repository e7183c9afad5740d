"""The built-in commands, registered through ``register_commands`` like any plugin's."""

from __future__ import annotations

import typer

from ru_llm.cli.models_cmd import models_command
from ru_llm.cli.placeholder import mount_package_app
from ru_llm.cli.plugins_cmd import plugins_command
from ru_llm.core.plugins import hookimpl

# Sub-apps live in their packages; (module, the issue that brings their commands while they have none).
PACKAGE_APPS = (
    ("ru_llm.translate.commands", None),
    ("ru_llm.dataset.commands", None),
    ("ru_llm.tokenize.commands", "#5"),
    ("ru_llm.train.commands", None),
    ("ru_llm.eval.commands", None),
)


@hookimpl
def register_commands(app: typer.Typer) -> None:
    for module, issue in PACKAGE_APPS:
        mount_package_app(app, module, issue=issue, panel="Pipeline")
    from ru_llm.eval.commands.chat_cmd import chat_command  # eval owns loading a model to generate with

    app.command("chat", rich_help_panel="Pipeline")(chat_command)
    app.command("plugins", rich_help_panel="Toolkit")(plugins_command)
    app.command("models", rich_help_panel="Toolkit")(models_command)
