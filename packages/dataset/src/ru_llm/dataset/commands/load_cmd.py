"""`ru-llm dataset load NAME --out FILE`: one source as conversations (or preference pairs) in the common format.

Every record written carries its licence stamp (``source``, ``license``, ``commercial``; see
:meth:`ru_llm.dataset.builders.base.DatasetBuilder.load`), which a ``--commercial`` training run trusts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ru_llm.core.options import parse_key_values


def load_command(
    name: Annotated[str, typer.Argument(help="Builder name (see `ru-llm dataset list`).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL file.")],
    source: Annotated[
        Path | None, typer.Option("--source", help="Local file or directory instead of the Hugging Face hub.")
    ] = None,
    option: Annotated[list[str] | None, typer.Option("--option", help="Builder option KEY=VALUE (repeatable).")] = None,
    rejects: Annotated[Path | None, typer.Option(help="Rejects file (default: OUT with .rejects.jsonl).")] = None,
    limit: Annotated[int | None, typer.Option(help="Stop after this many conversations.")] = None,
) -> None:
    """Convert one source to conversations in the common format."""
    from itertools import islice

    from rich.console import Console

    from ru_llm.core.jsonl import JsonlWriter, RejectsWriter
    from ru_llm.dataset.builders.base import LoadStats
    from ru_llm.dataset.preference import carrier_to_dict
    from ru_llm.dataset.registry import get_dataset_builder

    builder = get_dataset_builder(name)
    options = parse_key_values(option, "--option")
    rejects = rejects or out.with_name(out.name.removesuffix(".jsonl") + ".rejects.jsonl")
    stats = LoadStats()
    preference = builder.produces == "preference"
    records = "preference pairs" if preference else "conversations"
    console = Console(stderr=True)
    with RejectsWriter(rejects) as rejected, JsonlWriter(out) as writer, console.status(f"loading {name}") as status:
        for conv in islice(builder.load(source, options, on_reject=rejected, stats=stats), limit):
            writer.write(carrier_to_dict(conv) if preference else conv)
            if writer.count % 1000 == 0:
                status.update(f"loading {name}: {writer.count} {records}")
    console.print(
        f"{name}: {stats.rows} rows in, {writer.count} {records} out, {stats.rejected} rejected "
        f"-> {out} (rejects: {rejects})"
    )
    info = builder.info(options)
    console.print(
        f"  every record is stamped source, license ({info['license']} unless it carries its own) and "
        f"commercial: {'true' if info['commercial'] else 'false'} (a record stamped false stays false)"
    )
    for reason, count in sorted(stats.reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"  rejected {count}: {reason}")
    from collections import Counter

    from ru_llm.core.summary import drop_warning

    knobs = {"": "the source's own rows (the builder's --option settings say what it keeps)"}
    warning = drop_warning("rows", stats.rows, Counter(stats.reasons), knobs, rejects=str(rejects))
    if warning:
        console.print(f"[yellow]{warning}[/]", soft_wrap=True)
