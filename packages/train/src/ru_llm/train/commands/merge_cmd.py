"""`ru-llm train merge ADAPTER_DIR --out DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def merge_command(
    adapter: Annotated[Path, typer.Argument(help="A LoRA adapter directory written by `ru-llm train run`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the merged model.")],
    base: Annotated[
        str | None, typer.Option(help="Base model directory or hub id (default: the one the adapter names).")
    ] = None,
    dtype: Annotated[str, typer.Option(help="Weights dtype of the merged model: auto, bf16, fp16, fp32.")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace an earlier ru-llm output directory.")] = False,
) -> None:
    """Merge a LoRA adapter into its base and save a plain transformers model (safetensors)."""
    from rich.console import Console

    from ru_llm.core.atomic import check_output_dir
    from ru_llm.core.errors import ConfigError
    from ru_llm.train.merge import merge_adapter

    if dtype not in ("auto", "bf16", "fp16", "fp32"):
        raise ConfigError(f"--dtype {dtype!r}: expected auto, bf16, fp16 or fp32")
    if not (adapter / "adapter_config.json").is_file():
        raise ConfigError(f"{adapter}: no adapter_config.json", hint="pass the output directory of a LoRA run")
    check_output_dir(out, overwrite=overwrite, inputs=[adapter, *([Path(base)] if base else [])])
    merged = merge_adapter(adapter, out, base=base, dtype=dtype)
    Console(stderr=True).print(f"[green]merged[/] {adapter} into {merged.base}: {out}")
