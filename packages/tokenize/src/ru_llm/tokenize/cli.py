"""`ru-llm tokenize`: Russian vocabularies for multilingual models."""

import typer

from ru_llm.core.errors import NotAvailableError
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


def _planned(name: str, what: str) -> None:
    def not_available(ctx: typer.Context) -> None:
        raise NotAvailableError(
            f"`ru-llm tokenize {name}` ({what}) is not available yet: it arrives with issue #5",
            hint="`ru-llm tokenize --help` lists what works today",
        )

    app.command(
        name,
        help=f"Not available yet: {what}.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(not_available)


for _name, _what in _PLANNED.items():
    _planned(_name, _what)
