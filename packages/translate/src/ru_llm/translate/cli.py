"""`ru-llm translate`: translate instruction datasets into Russian."""

import typer

app = typer.Typer(
    name="translate",
    help="Translate English instruction sets (Dolly, OASST1, chip2, files) into Russian (not available yet: issue #4).",
)
