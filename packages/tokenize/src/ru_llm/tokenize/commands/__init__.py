"""`ru-llm tokenize`: the only place the tokenize package reads user input (corpus specs, options, paths).

Each command module imports only typer at the top, so ``ru-llm tokenize --help`` stays fast.
"""

import typer

from ru_llm.tokenize.commands.extend_cmd import extend_command
from ru_llm.tokenize.commands.optimize_cmd import optimize_command
from ru_llm.tokenize.commands.replace_cmd import replace_command
from ru_llm.tokenize.commands.resize_cmd import resize_model_command
from ru_llm.tokenize.commands.stats_cmd import stats_command
from ru_llm.tokenize.commands.train_cmd import train_command, trainers_command

app = typer.Typer(
    name="tokenize",
    help="Russian vocabularies: compare tokenizers' efficiency, extend a base tokenizer, replace its vocabulary "
    "or train one from scratch, and resize a model to the new tokenizer.",
    no_args_is_help=True,
)
app.command("stats")(stats_command)
app.command("extend")(extend_command)
app.command("replace")(replace_command)
app.command("train")(train_command)
app.command("trainers")(trainers_command)
app.command("resize-model")(resize_model_command)
app.command("optimize")(optimize_command)
