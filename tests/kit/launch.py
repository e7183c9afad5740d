"""Launching ``torchrun`` from tests: two local CPU processes, free of any enclosing launcher's variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# Variables of an enclosing launcher; the runs below start their own process groups.
LAUNCH_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def torchrun(*args: Any, cwd: Path, processes: int = 2, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``torchrun --standalone --nproc_per_node N ARGS`` (a free rendezvous port per run)."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    env.update(COLUMNS="200", OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
    return subprocess.run(
        [*command, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
