"""`ru-llm dataset`: build, load, inspect and render conversation datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ru_llm.core.deps import require
from ru_llm.core.options import parse_key_values
from ru_llm.dataset.render import render_command

app = typer.Typer(
    name="dataset",
    help="Build bilingual instruction datasets with known licences: list, load, build, stats, render.",
    no_args_is_help=True,
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

app.command("render")(render_command)


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@app.command("list")
def list_builders(as_json: AsJson = False) -> None:
    """List dataset builders with their licence and whether commercial use is allowed."""
    from ru_llm.dataset.registry import dataset_builders

    rows = [{**entry.obj.info(), "plugin": entry.plugin} for entry in dataset_builders().entries()]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="dataset builders")
    for column in ("name", "hub id", "licence", "commercial", "lang"):
        table.add_column(column, overflow="fold")
    for row in rows:
        commercial = "[green]yes[/]" if row["commercial"] else "[red]no[/]"
        table.add_row(row["name"], row["hub_id"] or "-", row["license"], commercial, row["lang"] or "-")
    Console().print(table)


@app.command("load")
def load(
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

    from ru_llm.core.jsonl import JsonlWriter, RejectsWriter
    from ru_llm.dataset.builders.base import LoadStats
    from ru_llm.dataset.registry import get_dataset_builder

    builder = get_dataset_builder(name)
    options = parse_key_values(option, "--option")
    rejects = rejects or out.with_name(out.name.removesuffix(".jsonl") + ".rejects.jsonl")
    stats = LoadStats()
    console = _console()
    with RejectsWriter(rejects) as rejected, JsonlWriter(out) as writer, console.status(f"loading {name}") as status:
        for conv in islice(builder.load(source, options, on_reject=rejected, stats=stats), limit):
            writer.write(conv)
            if writer.count % 1000 == 0:
                status.update(f"loading {name}: {writer.count} conversations")
    console.print(
        f"{name}: {stats.rows} rows in, {writer.count} conversations out, {stats.rejected} rejected "
        f"-> {out} (rejects: {rejects})"
    )
    for reason, count in sorted(stats.reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"  rejected {count}: {reason}")


@app.command("build")
def build(
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
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ru_llm.core.atomic import refuse_inputs_inside
    from ru_llm.dataset import export
    from ru_llm.dataset.build import build_dataset
    from ru_llm.dataset.recipe import load_recipe

    refuse_inputs_inside(out, [recipe])  # build_dataset checks the rest; it never sees the recipe file
    if save_to_disk or push_to_hub:  # checked before the build, not after it
        require("datasets", purpose="--save-to-disk / --push-to-hub", package="ru-llm-dataset", extra="hf")
    elif parquet:
        require("pyarrow", purpose="--parquet", package="ru-llm-dataset", extra="parquet")
    parsed = load_recipe(recipe)
    console = _console()
    with Progress(
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
    if parquet:
        export.to_parquet(out)
    if save_to_disk:
        export.save_to_disk(out, save_to_disk)
    if push_to_hub:
        export.push_to_hub(out, push_to_hub)


def _print_report(report: Any, console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"dataset built in {report.out_dir}")
    for column in ("source", "licence", "loaded", "kept", "rejected", "train", "validation"):
        table.add_column(column, overflow="fold")
    for s in report.sources:
        table.add_row(s.label, s.license, *(str(n) for n in (s.loaded, s.kept, sum(s.rejected.values()), s.train,
                                                              s.validation)))  # fmt: skip
    console.print(table)
    console.print(f"records in {report.records_in} = kept {report.kept} + rejected {report.rejected}")
    for reason, count in report.reasons().most_common():
        console.print(f"  rejected {count}: {reason}")
    if not report.commercial:
        console.print("[yellow]not cleared for commercial use: see README.md in the output[/]")


@app.command("stats")
def stats(
    file: Annotated[Path, typer.Argument(help="A conversation JSONL file.")],
    as_json: AsJson = False,
) -> None:
    """Counts, languages, licences and lengths of a conversation file."""
    from ru_llm.dataset.stats import file_stats

    data = file_stats(file).to_dict()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=str(file), show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
        table.add_row(key.replace("_", " "), str(value))
    Console().print(table)
