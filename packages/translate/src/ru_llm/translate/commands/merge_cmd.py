"""`ru-llm translate merge TARGET CACHES...`: shard caches into one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def merge_command(
    target: Annotated[Path, typer.Argument(help="The cache to merge into (created if missing).")],
    caches: Annotated[list[Path], typer.Argument(help="Shard caches to merge.")],
) -> None:
    """Merge shard caches, then rerun the translate command without --shard to write the output."""
    from ru_llm.translate.cache import merge_caches

    added = merge_caches(target, caches)
    typer.echo(f"merged {len(caches)} caches into {target}: {added} new segments")
