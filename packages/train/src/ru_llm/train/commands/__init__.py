"""`ru-llm train`: the only place the train package reads user input (files, options, overrides)."""

from __future__ import annotations

import typer

from ru_llm.train.commands.lep_cmd import lep_command
from ru_llm.train.commands.merge_cmd import merge_command
from ru_llm.train.commands.presets_cmd import presets_command
from ru_llm.train.commands.preview_cmd import preview_command
from ru_llm.train.commands.run_cmd import run_command

app = typer.Typer(
    name="train",
    help="Fine-tune fully (DeepSpeed ZeRO-3), with LoRA (bf16/int8/nf4) or by continued pre-training; merge adapters.",
    no_args_is_help=True,
)
app.command("run")(run_command)
app.command("preview")(preview_command)
app.command("presets")(presets_command)
app.command("merge")(merge_command)
app.command("lep")(lep_command)
