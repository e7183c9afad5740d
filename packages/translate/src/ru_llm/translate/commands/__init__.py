"""`ru-llm translate`: the only place the translate package reads user input (files, options, shards)."""

from __future__ import annotations

from typing import Any

import typer
import typer.core

from ru_llm.translate.commands.backends_cmd import backends_command
from ru_llm.translate.commands.merge_cmd import merge_command
from ru_llm.translate.commands.source_cmd import builder_command, make_command


class TranslateGroup(typer.core.TyperGroup):
    """``ru-llm translate NAME`` for every registered dataset builder, a plugin's too.

    The fixed commands (``file``, ``backends``, ``merge``) are registered as usual; any other name is
    looked up in the dataset-builder registry when the command line names it (or ``--help`` lists them),
    so a plugin's builder is translatable without this module knowing it.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        fixed = super().list_commands(ctx)
        from ru_llm.dataset.registry import dataset_builders

        return [*fixed, *(name for name in dataset_builders().names() if name not in fixed)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        from ru_llm.dataset.registry import dataset_builders

        entry = dataset_builders().entry(cmd_name)  # an unknown name: one line listing the builders
        return builder_command(entry.name, entry.obj)


app = typer.Typer(
    name="translate",
    cls=TranslateGroup,
    help="Translate English instruction sets (Dolly, OASST1, chip2, any registered dataset builder, files) "
    "into Russian, resumably.",
    no_args_is_help=True,
)

make_command(app, "file", "Translate a local conversation file (OpenAI messages, ShareGPT or Alpaca).", True)
app.command("backends")(backends_command)
app.command("merge")(merge_command)
