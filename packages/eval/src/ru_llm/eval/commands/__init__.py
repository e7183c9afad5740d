"""`ru-llm eval`: the only place the eval package reads user input."""

from __future__ import annotations

import typer

from ru_llm.eval.commands.arena_cmd import arena_command
from ru_llm.eval.commands.compare_cmd import compare_command
from ru_llm.eval.commands.run_cmd import run_command
from ru_llm.eval.commands.tasks_cmd import models_command, tasks_command

app = typer.Typer(
    name="eval",
    help="Evaluate models: MMLU / MMLU-RU, perplexity, copy, generation speed, tokenizer efficiency, any "
    "lm-eval task; compare results; Arena-style pairwise leaderboards.",
    no_args_is_help=True,
)
app.command("run")(run_command)
app.command("tasks")(tasks_command)
app.command("models")(models_command)
app.command("compare")(compare_command)
app.command("arena")(arena_command)
