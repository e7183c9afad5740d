"""`ru-llm dataset`: the only place the dataset package reads user input (files, options, recipes)."""

from __future__ import annotations

import typer

from ru_llm.dataset.commands.build_cmd import build_command
from ru_llm.dataset.commands.list_cmd import list_command
from ru_llm.dataset.commands.load_cmd import load_command
from ru_llm.dataset.commands.render_cmd import render_command
from ru_llm.dataset.commands.stats_cmd import stats_command

app = typer.Typer(
    name="dataset",
    help="Build bilingual instruction datasets with known licences: list, load, build, stats, render.",
    no_args_is_help=True,
)
app.command("render")(render_command)
app.command("list")(list_command)
app.command("load")(load_command)
app.command("build")(build_command)
app.command("stats")(stats_command)
