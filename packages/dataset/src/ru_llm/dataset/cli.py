"""`ru-llm dataset`: build, load, render and inspect conversation datasets."""

import typer

app = typer.Typer(
    name="dataset",
    help="Build bilingual instruction datasets with known licences (not available yet: issue #3).",
)
