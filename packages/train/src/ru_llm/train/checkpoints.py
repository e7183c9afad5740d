"""Checkpoints and final outputs that appear whole or not at all, so a kill at any moment costs no run.

A checkpoint is written into ``OUTPUT/.staging/checkpoint-N`` by every rank, then the saving process
writes a manifest (every file with its size) as the last file and renames the folder to
``OUTPUT/checkpoint-N``. Resume takes the newest checkpoint whose manifest matches its files and names
the incomplete ones it skips (a folder killed mid-write by an older version, emptied, or damaged).

The final model goes the same way: written into ``OUTPUT/.final``, its files moved into ``OUTPUT``
(the model card last), then :data:`FINISHED` records what was published. Only that file marks a run
finished; a rerun after a kill mid-publish resumes from the last checkpoint and publishes again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMPLETE = ".ru-llm-checkpoint.json"  # written last into a checkpoint: step and files with sizes
FINISHED = ".ru-llm-finished.json"  # written last into the output directory: the published files
STAGING = ".staging"  # checkpoints being written
FINAL = ".final"  # the final model being written
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
_TRAINER_STATE = "trainer_state.json"


@dataclass(frozen=True)
class Skipped:
    """A checkpoint folder resume cannot use, and why."""

    path: Path
    reason: str


def checkpoint_step(path: Path) -> int | None:
    match = _CHECKPOINT.match(path.name)
    return int(match.group(1)) if match else None


def _files(directory: Path) -> dict[str, int]:
    """Every file under ``directory`` (relative POSIX path -> size), the manifest itself left out."""
    found = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != COMPLETE:
            found[path.relative_to(directory).as_posix()] = path.stat().st_size
    return found


def _fsync(path: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot fsync a directory
        pass
    finally:
        os.close(fd)


def write_json_atomically(path: Path, value: Any) -> None:
    """``value`` as JSON at ``path``: a temporary file, fsync, rename (never a half-written file)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(value, indent=1, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync(path.parent)


def seal(directory: Path, **info: Any) -> dict[str, int]:
    """Flush every file of ``directory`` to disk and write its manifest last; returns the files."""
    files = _files(directory)
    for name in files:
        _fsync(directory / name)
    for sub in {directory / name for name in files}:
        _fsync(sub.parent)
    write_json_atomically(directory / COMPLETE, {**info, "files": files})
    return files


def checkpoint_problem(path: Path) -> str | None:
    """Why the checkpoint folder ``path`` cannot be resumed from (``None``: it is complete)."""
    step = checkpoint_step(path)
    if not path.is_dir():
        return "not a directory"
    if not any(path.iterdir()):
        return "empty"
    manifest_path = path / COMPLETE
    if not manifest_path.is_file():
        return _legacy_problem(path, step)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"its {COMPLETE} is unreadable"
    if step is not None and manifest.get("step") not in (None, step):
        return f"it holds step {manifest.get('step')}, not {step}"
    for name, size in files.items():
        file = path / name
        if not file.is_file():
            return f"{name} is missing"
        if file.stat().st_size != size:
            return f"{name} has {file.stat().st_size} bytes, not the {size} written"
    return None


def _legacy_problem(path: Path, step: int | None) -> str | None:
    """A checkpoint written in place before manifests existed: complete when its trainer state (which
    transformers writes after the weights, optimizer and RNG states) reads back at the right step."""
    state = path / _TRAINER_STATE
    if not state.is_file():
        return f"no {_TRAINER_STATE} (the save was cut short)"
    try:
        saved = json.loads(state.read_text(encoding="utf-8")).get("global_step")
    except (OSError, ValueError, AttributeError):
        return f"its {_TRAINER_STATE} is unreadable (the save was cut short)"
    if step is not None and saved != step:
        return f"its {_TRAINER_STATE} is at step {saved}, not {step}"
    return None


def scan_checkpoints(out: Path) -> tuple[list[Path], list[Skipped]]:
    """The complete checkpoints of ``out`` (oldest first) and the incomplete ones, with reasons."""
    complete: list[tuple[int, Path]] = []
    skipped: list[Skipped] = []
    if not out.is_dir():
        return [], []
    for path in out.iterdir():
        step = checkpoint_step(path)
        if step is None:
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            complete.append((step, path))
        else:
            skipped.append(Skipped(path, problem))
    return [p for _, p in sorted(complete)], sorted(skipped, key=lambda s: checkpoint_step(s.path) or 0)


def _remove(path: Path) -> None:
    """Delete ``path`` so that a kill midway never leaves something that looks like a checkpoint:
    renamed into the staging area first, then removed."""
    if not path.exists() and not path.is_symlink():
        return
    trash = path.parent / STAGING / f"removing-{path.name}-{os.getpid()}"
    trash.parent.mkdir(exist_ok=True)
    if trash.exists():
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.replace(path, trash)
    except OSError:
        trash = path
    if trash.is_dir() and not trash.is_symlink():
        shutil.rmtree(trash, ignore_errors=True)
    else:
        trash.unlink(missing_ok=True)


def remove_incomplete(skipped: list[Skipped]) -> None:
    for item in skipped:
        _remove(item.path)


def clear_staging(out: Path) -> None:
    """Drop what killed runs left half-written (a run starts with no save in flight)."""
    for name in (STAGING, FINAL):
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def staging_root(out: Path) -> Path:
    return out / STAGING


def publish_checkpoint(staged: Path, out: Path, *, step: int) -> Path:
    """Seal ``staged`` and rename it to ``out/checkpoint-<step>`` (replacing a leftover of that name)."""
    seal(staged, step=step)
    target = out / staged.name
    if target.exists():
        _remove(target)
    os.replace(staged, target)
    _fsync(out)
    return target


def rotate(out: Path, limit: int | None) -> list[Path]:
    """Delete the oldest complete checkpoints beyond ``limit``; returns them."""
    if not limit or limit < 1:
        return []
    complete, _ = scan_checkpoints(out)
    doomed = complete[:-limit]
    for path in doomed:
        _remove(path)
    return doomed


# -- the final output -------------------------------------------------------------------------------
def final_staging(out: Path) -> Path:
    return out / FINAL


def publish_final(staged: Path, out: Path, *, last: str = "README.md", **info: Any) -> list[str]:
    """Move every entry of ``staged`` into ``out`` (``last`` at the end), then write :data:`FINISHED`."""
    seal(staged)
    (staged / COMPLETE).unlink()
    names = sorted(p.name for p in staged.iterdir())
    names.sort(key=lambda name: name == last)
    for name in names:
        target = out / name
        if target.is_dir() and not target.is_symlink():
            _remove(target)
        os.replace(staged / name, target)
    staged.rmdir()
    _fsync(out)
    write_json_atomically(out / FINISHED, {**info, "files": names})
    return names


def is_finished(out: Path) -> bool:
    """Whether ``out`` holds a finished run: the :data:`FINISHED` record (or, for runs made before it
    existed, a model card beside the training report, which were written after the weights)."""
    if (out / FINISHED).is_file():
        return True
    legacy = (out / "README.md").is_file() and (out / "train_report.json").is_file()
    return legacy and not (out / FINAL).exists() and not (out / STAGING).exists()


def finished_problem(out: Path) -> str | None:
    """What is missing from a finished run's published files (``None``: all there)."""
    record = out / FINISHED
    if not record.is_file():
        return None
    try:
        names = json.loads(record.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{FINISHED} is unreadable"
    missing = [n for n in names if not (out / n).exists()]
    return f"{', '.join(missing[:3])} missing" if missing else None


def forget_finished(out: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (out / FINISHED).unlink()
