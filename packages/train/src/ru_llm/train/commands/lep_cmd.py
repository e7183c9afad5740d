"""`ru-llm train lep --base B --instruct I --adapted-base B2 [--mode conversion|overlap|swap] --out DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def lep_command(
    base: Annotated[str, typer.Option(help="The base model B the instruct model was tuned from.")],
    instruct: Annotated[str, typer.Option(help="The instruct model I (its body is kept).")],
    adapted_base: Annotated[str, typer.Option(help="B with the new vocabulary and trained embeddings (B2).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the resulting instruct model.")],
    mode: Annotated[str, typer.Option(help="conversion (default), overlap or swap.")] = "conversion",
    overwrite: Annotated[bool, typer.Option(help="Replace an earlier ru-llm output directory.")] = False,
) -> None:
    """Learned Embedding Propagation: put B2's vocabulary into I through a map fitted from B to I."""
    from rich.console import Console

    from ru_llm.core.errors import ConfigError
    from ru_llm.train.lep import MODES, propagate

    if mode not in MODES:
        raise ConfigError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    report = propagate(base, instruct, adapted_base, out, mode=mode, overwrite=overwrite)  # type: ignore[arg-type]
    console = Console(stderr=True)
    for fit in report.fits:
        console.print(
            f"{fit.matrix}: fitted on {fit.fitted_on} rows, relative residual {fit.residual:.2e}; "
            f"{fit.kept_instruct_rows} special-token rows kept from the instruct model"
        )
    console.print(f"[green]done[/]: {out} ({report.old_vocab} -> {report.new_vocab} tokens, mode {report.mode})")
