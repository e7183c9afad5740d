"""The ``ru-llm`` console script."""

from __future__ import annotations

import os
from pathlib import Path

from ru_llm.cli.app import build_app
from ru_llm.cli.errors import exit_with_user_error
from ru_llm.core.errors import RuLLMError


def _quiet_deepspeed_on_cpu() -> None:
    """DeepSpeed (imported by transformers when installed) warns on stdout when it finds no GPU, which
    breaks every ``--json`` output; on a machine without an NVIDIA device, tell it the CPU is meant."""
    if "DS_ACCELERATOR" not in os.environ and not Path("/dev/nvidiactl").exists():
        os.environ["DS_ACCELERATOR"] = "cpu"


def main(argv: list[str] | None = None) -> None:
    """Build the app (loading plugins) and run it; user errors print one line and exit 1."""
    _quiet_deepspeed_on_cpu()
    try:
        app = build_app()
    except RuLLMError as error:  # a broken plugin, before any command runs
        exit_with_user_error(error)
    app(args=argv, prog_name="ru-llm")


if __name__ == "__main__":
    main()
