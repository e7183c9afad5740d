"""A run's output directory: a fresh run or a resume, decided from what the directory holds.

A directory holds one run's config (``config.resolved.yaml``), its checkpoints and, once finished, its
model; a different config there is refused, incomplete checkpoints are removed (``ru_llm.train.checkpoints``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ru_llm.core.atomic import LOCK, check_output_dir, holds_files, refuse_inputs_inside
from ru_llm.core.errors import RuLLMError
from ru_llm.train.checkpoints import clear_staging, finished_problem, is_finished, remove_incomplete, scan_checkpoints

CONFIG_FILE = "config.resolved.yaml"


def last_checkpoint(out: Path) -> Path | None:
    """The newest complete checkpoint of ``out`` (see ``ru_llm.train.checkpoints``)."""
    complete, _ = scan_checkpoints(out)
    return complete[-1] if complete else None


def prepare_output_dir(
    out: Path,
    tree: dict[str, Any],
    *,
    overwrite: bool,
    inputs: list[Path],
    say: Callable[[str], object] = lambda _: None,
    dry_run: bool = False,
) -> Path | None:
    """Decide between a fresh run and a resume; return the checkpoint to resume from.

    Incomplete checkpoints (a save cut short) are skipped, named through ``say`` and removed. A folder
    that holds no progress yet (the earlier attempt stopped before its first checkpoint) starts again,
    whatever config it was made with. ``dry_run``: only the refusals, nothing changed or said.
    """
    refuse_inputs_inside(out, inputs, flag="output_dir")
    if overwrite:
        check_output_dir(out, overwrite=True, flag="output_dir")  # only a directory the toolkit made
        if not dry_run:
            empty_directory(out)
        return None
    if not holds_files(out):
        return None
    previous = out / CONFIG_FILE
    if not previous.is_file():
        check_output_dir(out, overwrite=False, inputs=inputs, flag="output_dir")  # raises: not ours
    old = _previous_tree(previous)
    complete, skipped = scan_checkpoints(out)
    _refuse_finished(out, old, tree)
    if not complete:
        if not dry_run:
            for item in skipped:
                say(f"skipping the incomplete checkpoint {item.path.name} ({item.reason}); removing it")
            remove_incomplete(skipped)
            clear_staging(out)
            if old is not None and _comparable(old) != _comparable(tree):
                say(f"{out}: the earlier attempt stopped before its first checkpoint; starting again with this config")
                empty_directory(out)
        return None
    _refuse_resume(out, old, tree)
    if not dry_run:
        for item in skipped:
            say(f"skipping the incomplete checkpoint {item.path.name} ({item.reason}); removing it")
        remove_incomplete(skipped)
        clear_staging(out)
    return complete[-1]


def refuse_settled(out: Path, tree: dict[str, Any], *, overwrite: bool) -> None:
    """The refusals of :func:`prepare_output_dir` that hold whatever another process does meanwhile: a finished
    run, or checkpoints of a different config (or with ``resume: never``). Every rank of a distributed run
    checks these itself, so all of them stop at once, before any collective: when rank 0 alone stopped, the
    others waited for it at the first one (a node could hang there until the process group's timeout).
    The other refusals are rank 0's, which changes the directory."""
    previous = out / CONFIG_FILE
    if overwrite or not previous.is_file():
        return
    old = _previous_tree(previous)
    _refuse_finished(out, old, tree)
    if scan_checkpoints(out)[0]:
        _refuse_resume(out, old, tree)


def _refuse_finished(out: Path, old: dict[str, Any] | None, tree: dict[str, Any]) -> None:
    if not is_finished(out):
        return
    if _comparable(old) != _comparable(tree):
        raise _different_config(out, old, tree)
    problem = finished_problem(out)
    raise RuLLMError(
        f"{out}: this run has finished already" + (f", but {problem}" if problem else ""),
        hint="pass --overwrite to train again",
    )


def _refuse_resume(out: Path, old: dict[str, Any] | None, tree: dict[str, Any]) -> None:
    """``out`` holds complete checkpoints: they are resumed only from the same config, with ``resume: auto``."""
    if _comparable(old) != _comparable(tree):
        raise _different_config(out, old, tree)
    if tree.get("resume") != "auto":
        raise RuLLMError(f"{out}: holds checkpoints and resume is 'never'", hint="pass --overwrite or resume=auto")


def _previous_tree(path: Path) -> dict[str, Any] | None:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # cut short or damaged: nothing to compare with


def _different_config(out: Path, old: dict[str, Any] | None, tree: dict[str, Any]) -> RuLLMError:
    old = old or {}
    changed = sorted(k for k in set(old) | set(tree) if old.get(k) != tree.get(k) and k != "resume")
    return RuLLMError(
        f"{out}: holds a run of a different config (differs in {', '.join(changed[:5]) or 'its saved config'})",
        hint="pass --overwrite to start again there, or choose another output_dir",
    )


def empty_directory(out: Path) -> None:
    """Remove everything in ``out`` (a directory the toolkit made) but keep ``out`` itself, which may be
    a symbolic link to a directory on another disk."""
    if not out.is_dir():
        return
    for child in out.iterdir():
        if child.name == LOCK:
            continue  # this run's own
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _comparable(tree: dict[str, Any] | None) -> dict[str, Any] | None:
    # "extra" (always empty for the built-ins) was a key of configs before plugin blocks moved to the top level
    return None if tree is None else {k: v for k, v in tree.items() if k != "resume" and (k != "extra" or v)}
