"""`ru-llm tokenize`: Russian vocabularies for multilingual models."""

import typer

from ru_llm.core.planned import add_planned_command
from ru_llm.tokenize.extend_cmd import extend_command
from ru_llm.tokenize.resize_cmd import resize_model_command
from ru_llm.tokenize.stats_cmd import stats_command

app = typer.Typer(
    name="tokenize",
    help="Russian vocabularies: extend byte-level BPE tokenizers, compare efficiency, resize models "
    "(vocabulary training, SentencePiece extension and replacement: not available yet).",
    no_args_is_help=True,
)
app.command("stats")(stats_command)
app.command("extend")(extend_command)
app.command("resize-model")(resize_model_command)

_PLANNED = {
    "train": "learn a Russian vocabulary (SentencePiece Unigram/BPE, byte-level BPE)",
    "replace": "replace a base tokenizer's vocabulary, keeping its special tokens and chat template",
}


for _name, _what in _PLANNED.items():
    add_planned_command(
        app,
        _name,
        message=f"`ru-llm tokenize {_name}` ({_what}) is not available yet: it arrives with issue #5",
        help=f"Not available yet: {_what}.",
        hint="`ru-llm tokenize --help` lists what works today",
    )
