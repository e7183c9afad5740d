"""`ru-llm dataset build RECIPE --out DIR`: mix sources into train/validation splits with a dataset card."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ru_llm.core.deps import require, require_datasets
from ru_llm.core.errors import RuLLMError


def build_command(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML (sources, filters, dedup, split).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")],
    commercial: Annotated[
        bool, typer.Option(help="Refuse to build if any source is not cleared for commercial use.")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output directory.")] = False,
    parquet: Annotated[bool, typer.Option(help="Also write train/validation .parquet files.")] = False,
    save_to_disk: Annotated[Path | None, typer.Option(help="Also save a datasets.DatasetDict here.")] = None,
    push_to_hub: Annotated[str | None, typer.Option(help="Also upload to this hub repo (token: HF_TOKEN).")] = None,
) -> None:
    """Mix sources into train.jsonl, validation.jsonl, rejects.jsonl and a dataset card."""
    from rich.console import Console
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

    from ru_llm.core.atomic import refuse_inputs_inside
    from ru_llm.core.progress import make_progress
    from ru_llm.dataset import export
    from ru_llm.dataset.build import build_dataset
    from ru_llm.dataset.recipe import load_recipe

    refuse_inputs_inside(out, [recipe])  # build_dataset checks the rest; it never sees the recipe file
    if save_to_disk or push_to_hub:  # checked before the build, not after it
        require_datasets("--save-to-disk / --push-to-hub")
    elif parquet:
        require("pyarrow", purpose="--parquet", package="ru-llm-dataset", extra="parquet")
    parsed = load_recipe(recipe)
    console = Console(stderr=True)
    with make_progress(
        SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} read"), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:  # fmt: skip
        tasks: dict[str, Any] = {}

        def advance(label: str, count: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=None)
            progress.update(tasks[label], completed=count)

        report = build_dataset(parsed, out, commercial=commercial, overwrite=overwrite, progress=advance)
    _print_report(report, console)
    if report.kind == "preference" and report.kept == 0:
        reasons = report.reasons().most_common(1)
        top = f" (most often: {reasons[0][0]})" if reasons else ""
        raise RuLLMError(
            f"no preference pairs left: all {report.records_in} records were rejected{top}",
            hint=f"see the reasons in {report.out_dir / 'rejects.jsonl'}",
        )
    if parquet:
        export.to_parquet(out)
    if save_to_disk:
        export.save_to_disk(out, save_to_disk)
    if push_to_hub:
        export.push_to_hub(out, push_to_hub)


def _print_report(report: Any, console: Any) -> None:
    from rich.table import Table

    from ru_llm.core.summary import drop_warning

    table = Table(title=f"dataset built in {report.out_dir}")
    for column in ("source", "licence", "records in", "kept", "rejected", "train", "validation"):
        table.add_column(column, overflow="fold")
    for s in report.sources:
        counts = (report.source_in(s), s.kept, sum(s.rejected.values()), s.train, s.validation)
        table.add_row(s.label, s.license, *(str(n) for n in counts))
    console.print(table)
    console.print(f"records in {report.records_in} = kept {report.kept} + rejected {report.rejected}")
    reasons = report.reject_reasons  # the rejects file's own words
    for reason, count in reasons.most_common(_REASONS_SHOWN):
        console.print(f"  rejected {count}: {reason}")
    if len(reasons) > _REASONS_SHOWN:
        rest = sum(n for _, n in reasons.most_common()[_REASONS_SHOWN:])
        console.print(f"  rejected {rest}: {len(reasons) - _REASONS_SHOWN} other reasons (see rejects.jsonl)")
    knobs = {
        "sampled out by weight": "the source's weight in the recipe",
        "filter": "the recipe's filters",
        "cap": "the source's max in the recipe",
        "text length": "the builder's min_chars/max_chars options",
        "duplicate": "the recipe's dedup settings",
        "near-duplicate": "the recipe's dedup settings",
        "": "the source data (or the recipe's filters)",
    }
    warning = drop_warning("records", report.records_in, reasons, knobs, rejects=f"{report.out_dir}/rejects.jsonl")
    if warning:
        console.print(f"[yellow]{warning}[/]", soft_wrap=True)  # one line, greppable in logs
    if not report.commercial:
        console.print("[yellow]not cleared for commercial use: see README.md in the output[/]")


_REASONS_SHOWN = 8
