"""`ru-llm eval`: evaluate models."""

import typer

app = typer.Typer(
    name="eval",
    help="Evaluate models on MMLU, MMLU-RU and MT-Bench-RU (not available yet).",
)
