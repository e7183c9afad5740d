"""`ru-llm train run CONFIG.yaml [key=value ...]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def run_command(
    config: Annotated[Path, typer.Argument(help="Run config YAML (see `ru-llm train presets`).")],
    overrides: Annotated[
        list[str] | None, typer.Argument(help="Dotted overrides, e.g. lora.r=32 optimizer.lr=1e-4 max_steps=100.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace an output directory of an earlier ru-llm run instead of resuming it.")
    ] = False,
    commercial: Annotated[
        bool, typer.Option(help="Refuse to train when a data source is not cleared for commercial use.")
    ] = False,
) -> None:
    """Train a model as CONFIG says; an interrupted run resumes when started again."""
    from rich.console import Console

    from ru_llm.core.errors import RuLLMError
    from ru_llm.train.configfile import resolve_config
    from ru_llm.train.run import train

    extra = list(overrides or [])
    if commercial:
        extra.append("commercial=true")
    run_config, _ = resolve_config(config, extra)
    console = Console(stderr=True)
    result = train(run_config, overwrite=overwrite, console=console)
    if result.interrupted:
        raise RuLLMError(
            f"stopped by {result.interrupted} at step {result.steps}; checkpoint saved in {result.output_dir}",
            hint="run the same command again to resume",
        )
    final = ", ".join(f"{k} {v:.4f}" for k, v in result.final.items())
    console.print(
        f"[green]done[/]: {result.steps} steps, {result.tokens_seen:,} tokens; {final}. "
        f"Output: {result.output_dir} (model card README.md, loss.png, metrics.jsonl)"
    )
