"""`ru-llm train preview CONFIG.yaml [-n 3]`: samples token by token with their labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def preview_command(
    config: Annotated[Path, typer.Argument(help="Run config YAML.")],
    overrides: Annotated[list[str] | None, typer.Argument(help="Dotted overrides, as for `train run`.")] = None,
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="How many samples to show.")] = 3,
) -> None:
    """Show the first samples as the trainer sees them: each token, its id, and whether it is trained."""
    from rich.console import Console

    from ru_llm.train.configfile import resolve_config
    from ru_llm.train.preview import preview_samples, render_preview

    run_config, _ = resolve_config(config, list(overrides or []))
    console = Console()
    samples, rejected = preview_samples(run_config, count)
    render_preview(console, samples, rejected)
