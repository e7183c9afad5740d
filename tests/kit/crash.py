"""A kill harness: run an ``ru-llm`` command in a child process that SIGKILLs itself at a named phase.

``python -m kit.crash PHASE -- ARGS...`` installs the hook for PHASE, then runs ``ru-llm ARGS...``;
the process dies with SIGKILL (no ``finally``, no atexit, no flush: what a power cut or the OOM killer
does) the moment the phase is reached, leaving the files exactly as they are at that instant.

Phases (each hooks a point the run passes once, or the Nth time):

* ``first-step``: the first training step, before any checkpoint exists;
* ``mid-step``: inside training step 3 (``KILL_STEP``), between two checkpoints;
* ``checkpoint-save``: a checkpoint's weights and optimizer written, its RNG state and trainer state not;
* ``checkpoint-publish``: a checkpoint sealed (manifest written), not yet renamed into place;
* ``final-save``: the final weights written, the tokenizer, report and card not;
* ``final-publish``: the final files half moved into the output directory;
* ``merge`` / ``lep``: the output model's weights written, its tokenizer not.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kit.launch import forked

PHASES = (
    "first-step",
    "mid-step",
    "checkpoint-save",
    "checkpoint-publish",
    "final-save",
    "final-publish",
    "merge",
    "lep",
)
TRAIN_PHASES = PHASES[:6]
KILL_STEP = 3


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _after(
    owner: Any, name: str, *, calls: int = 1, before: bool = False, when: Callable[..., bool] | None = None
) -> None:
    """Kill on the ``calls``-th call of ``owner.name`` (before it runs, or after it returns)."""
    original = getattr(owner, name)
    seen = [0]

    def hooked(*args: Any, **kwargs: Any) -> Any:
        if when is None or when(*args, **kwargs):
            seen[0] += 1
        if before and seen[0] == calls:
            die()
        result = original(*args, **kwargs)
        if not before and seen[0] == calls:
            die()
        return result

    setattr(owner, name, hooked)


def install(phase: str) -> None:
    from transformers import PreTrainedTokenizerBase, Trainer

    import ru_llm.train.checkpoints as checkpoints
    import ru_llm.train.trainer as trainer_module

    if phase == "first-step":
        _after(Trainer, "training_step", before=True)
    elif phase == "mid-step":
        _after(
            Trainer, "training_step", before=True, when=lambda self, *a, **k: self.state.global_step == KILL_STEP - 1
        )
    elif phase == "checkpoint-save":
        _after(Trainer, "_save_optimizer_and_scheduler")
    elif phase == "checkpoint-publish":
        _after(checkpoints, "seal", when=lambda directory, **info: "step" in info)
    elif phase == "final-save":
        _after(trainer_module, "save_tokenizer", before=True)
    elif phase == "final-publish":
        real_publish = checkpoints.publish_final

        def publish(*args: Any, **kwargs: Any) -> Any:
            _after(checkpoints.os, "replace", calls=2)  # two files moved, the rest not
            return real_publish(*args, **kwargs)

        checkpoints.publish_final = publish
        import ru_llm.train.run as run_module

        run_module.publish_final = publish
    elif phase in ("merge", "lep"):
        _after(PreTrainedTokenizerBase, "save_pretrained", before=True)
    else:
        raise SystemExit(f"unknown phase {phase!r}; known: {', '.join(PHASES)}")


def main(argv: list[str]) -> None:
    phase, separator, *args = argv
    assert separator == "--", "usage: python -m kit.crash PHASE -- ru-llm ARGS"
    install(phase)
    from ru_llm.cli.main import main as cli_main

    cli_main(args)


def run_killed(phase: str, *args: Any, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """``ru-llm ARGS`` in a child process killed at ``phase``; fails unless SIGKILL ended it."""
    # forked from kit.launch's server, which has imported the libraries once: still a process of its own
    done = forked(["-m", "kit.crash", phase, "--", *map(str, args)], cwd=cwd, timeout=timeout, DS_ACCELERATOR="cpu")
    if done.returncode != -signal.SIGKILL:
        raise AssertionError(
            f"{phase}: exit {done.returncode}, not killed\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return done


def weights(directory: Path) -> dict[str, Any]:
    """Every tensor of the safetensors files in ``directory`` (an adapter or a model)."""
    from safetensors.torch import load_file

    found: dict[str, Any] = {}
    for file in sorted(directory.glob("*.safetensors")):
        found.update(load_file(str(file)))
    if not found:
        raise AssertionError(f"{directory}: no safetensors weights")
    return found


def max_difference(a: dict[str, Any], b: dict[str, Any]) -> float:
    """The largest absolute difference between two sets of tensors with the same names."""
    if set(a) != set(b):
        raise AssertionError(f"different tensors: {sorted(set(a) ^ set(b))[:5]}")
    return max(float((a[k].float() - b[k].float()).abs().max()) if a[k].numel() else 0.0 for k in a)


if __name__ == "__main__":
    main(sys.argv[1:])
