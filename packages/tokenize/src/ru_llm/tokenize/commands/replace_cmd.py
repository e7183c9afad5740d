"""`ru-llm tokenize replace`: a new vocabulary in place of a base's, keeping its special tokens and chat template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ru_llm.tokenize.commands.output import CORPUS_HELP


def replace_command(
    base_spec: Annotated[
        str,
        typer.Option("--base", help="Base tokenizer: a directory (tokenizer.json or tokenizer.model) or a hub id."),
    ],
    corpus: Annotated[list[str], typer.Option("--corpus", help=CORPUS_HELP)],
    vocab_size: Annotated[
        int, typer.Option("--vocab-size", help="Tokens in all, the base's special and added tokens included.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory for the new tokenizer.")],
    trainer: Annotated[
        str | None,
        typer.Option("--trainer", help="Learner to use (default: the first that fits the base; see `trainers`)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output directory.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of a table.")] = False,
) -> None:
    """Learn a new vocabulary of the base's kind, keeping its special tokens, chat template and padding side.

    Every id changes: run `ru-llm tokenize resize-model` next (it keeps the rows of tokens the base also has).

    The vocabulary serves the corpus's languages only: a Russian-only corpus makes English and code cost more tokens.

    For a bilingual vocabulary add English text: --corpus wordfreq:ru --corpus wordfreq:en@0.5.
    """
    from rich.console import Console

    from ru_llm.tokenize.commands.output import print_report, short_list, with_progress
    from ru_llm.tokenize.corpus import weighted_texts
    from ru_llm.tokenize.loading import tokenizer_dir
    from ru_llm.tokenize.replace import replace_vocabulary

    console = Console(stderr=True)
    base = tokenizer_dir(base_spec)
    with console.status("checking the base and the corpus") as status:
        texts = with_progress(weighted_texts(corpus), status)
        report = replace_vocabulary(base, texts, vocab_size, out, trainer=trainer, overwrite=overwrite)
    print_report(
        report.to_dict(),
        as_json=as_json,
        title=f"vocabulary replaced into {report.out_dir}",
        rows=[
            ("trainer", report.trainer),
            ("base vocabulary", f"{report.base_vocab:,}"),
            ("new vocabulary", f"{report.vocab_size:,}"),
            ("base tokens kept (same string)", f"{report.kept_base_tokens:,}"),
            ("special tokens", short_list(report.special_tokens)),
            ("texts read", f"{report.texts:,}"),
            ("seconds", f"{report.seconds:.1f}"),
        ],
        footer="learned tokens: " + ", ".join(repr(t) for t in report.examples) + "\n"
        f"next: ru-llm tokenize resize-model --model MODEL_DIR --tokenizer {report.out_dir} --out OUT",
    )
