"""`ru-llm tokenize optimize`: drop base tokens unused on the target corpora, optionally extend, save the id map."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ru_llm.tokenize.commands.output import CORPUS_HELP


def optimize_command(
    base_spec: Annotated[
        str,
        typer.Option(
            "--base",
            help="Base tokenizer: a directory with a byte-level BPE tokenizer.json (Qwen2/2.5, LLaMA-3, "
            "Mistral-Nemo), or a hub id.",
        ),
    ],
    keep_corpus: Annotated[
        list[str],
        typer.Option("--keep-corpus", help="Text whose tokens are kept (it splits as before). " + CORPUS_HELP),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory for the optimized tokenizer.")],
    min_count: Annotated[
        float, typer.Option("--min-count", help="Keep tokens used at least this often on the keep corpora.")
    ] = 1,
    corpus: Annotated[
        list[str] | None, typer.Option("--corpus", help="With --add: text to learn new tokens from. " + CORPUS_HELP)
    ] = None,
    add: Annotated[int | None, typer.Option("--add", help="How many Russian tokens to learn after pruning.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output directory.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of a table.")] = False,
) -> None:
    """Drop base tokens unused on the keep corpora (renumbering the rest, id_map.json saves the mapping), then
    optionally add Russian tokens; byte-level BPE bases only."""
    from rich.console import Console

    from ru_llm.core.errors import ConfigError
    from ru_llm.tokenize.bpe.optimize import optimize_tokenizer, read_base
    from ru_llm.tokenize.commands.output import check_add, print_report, with_progress
    from ru_llm.tokenize.corpus import weighted_texts
    from ru_llm.tokenize.loading import check_base_tokenizer, tokenizer_dir
    from ru_llm.tokenize.produced import check_out_dir

    # Cheap checks first: wrong options, --base or --out fail before any corpus is read.
    if not min_count >= 1:
        raise ConfigError(
            f"--min-count {min_count:g}: must be at least 1", hint="keep tokens used at least this often, e.g. 1"
        )
    if add is not None and not corpus:
        raise ConfigError("--add needs --corpus (the text to learn the new tokens from)", hint="pass --corpus SPEC")
    if corpus and add is None:
        raise ConfigError("--corpus needs --add (how many new tokens to learn from it)", hint="pass --add N")
    if add is not None:
        check_add(add)
    base = tokenizer_dir(base_spec)
    read_base(base)
    base_tokenizer = check_base_tokenizer(base)
    check_out_dir(out, overwrite, base)
    console = Console(stderr=True)
    with console.status("checking the keep corpus") as status:
        keep_texts = with_progress(weighted_texts(keep_corpus), status)
        add_texts = with_progress(weighted_texts(corpus), status) if corpus else None
        report = optimize_tokenizer(
            base,
            keep_texts,
            out,
            min_count=min_count,
            add=add,
            add_texts=add_texts,
            overwrite=overwrite,
            base_tokenizer=base_tokenizer,
        )
    print_report(
        report.to_dict(),
        as_json=as_json,
        title=f"tokenizer optimized into {report.out_dir}",
        rows=[
            ("base vocabulary", f"{report.base_vocab:,}"),
            ("kept", f"{report.kept:,}"),
            ("dropped", f"{report.dropped:,}"),
            ("new tokens", f"{report.new_tokens:,}"),
            ("vocabulary", f"{report.vocab_size:,}"),
            ("seconds", f"{report.seconds:.1f}"),
        ],
        footer=f"old -> new ids in {Path(report.out_dir) / 'id_map.json'}",
    )
