"""Output directories: the one rule for ``--out`` / ``--overwrite``, and directories that appear whole or not at all.

Every directory the toolkit creates carries a marker file (:data:`MARKER`). ``--overwrite`` replaces
only such a directory: pointed at a folder holding a user's own files, it refuses rather than deleting
them. Work happens in a hidden temporary directory beside the target that is renamed over it at the
end; one left behind by a killed run is removed by the next run into the same place.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ru_llm.core.errors import RuLLMError

MARKER = ".ru-llm-output"  # in every finished output directory: what made it
PARTIAL = ".ru-llm-partial"  # in a temporary work directory: the process that owns it
LOCK = ".ru-llm-running"  # in an output directory a run is writing into: the process that owns it


def is_toolkit_output(path: str | Path) -> bool:
    """Whether ``path`` is a directory this toolkit created (it holds the marker file)."""
    return (Path(path) / MARKER).is_file()


def write_marker(directory: str | Path, command: str) -> None:
    """Mark ``directory`` as made by ``command`` (so a later ``--overwrite`` may replace it)."""
    info = {"tool": "ru-llm", "command": command, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (Path(directory) / MARKER).write_text(json.dumps(info) + "\n", encoding="utf-8")


def check_output_dir(
    out_dir: str | Path, *, overwrite: bool, inputs: Iterable[str | Path] = (), flag: str = "--out"
) -> None:
    """Refuse an output directory that may not be (re)written, before any work starts.

    * a file in the way, or an input (recipe, data, base model) at or inside ``out_dir``: refused;
    * an existing non-empty directory: refused without ``overwrite``; with it, refused unless the
      toolkit made that directory (its marker file), so ``--overwrite`` never deletes a user's files.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RuLLMError(f"{out}: exists and is not a directory", hint=f"choose another {flag}")
    refuse_inputs_inside(out, inputs, flag=flag)
    if not holds_files(out):
        return
    if not overwrite:
        raise RuLLMError(f"{out}: already exists and is not empty", hint=f"pass --overwrite or another {flag}")
    if not is_toolkit_output(out):
        raise RuLLMError(
            f"{out}: not an output directory of ru-llm (no {MARKER} file), so --overwrite will not delete it",
            hint=f"choose another {flag}, or remove the directory yourself",
        )


def refuse_inputs_inside(out_dir: str | Path, inputs: Iterable[str | Path], *, flag: str = "--out") -> None:
    """Refuse an output directory that is, or contains, one of the run's inputs."""
    resolved = Path(out_dir).resolve()
    for item in inputs:
        source = Path(item).resolve()
        if source == resolved or resolved in source.parents:
            raise RuLLMError(
                f"{out_dir}: the output directory holds an input ({item}); writing there would destroy it",
                hint=f"choose another {flag}",
            )


def holds_files(directory: Path) -> bool:
    """Whether ``directory`` exists and holds anything besides a run's lock file."""
    return directory.is_dir() and any(p.name != LOCK for p in directory.iterdir())


def _owner_alive(work: Path) -> bool:
    """Whether the process that created a temporary work directory may still be running."""
    return _holder_alive(work / PARTIAL)


def _holder_alive(record: Path) -> bool:
    """Whether the process named in ``record`` ("HOST PID") may still be running."""
    try:
        host, pid = record.read_text(encoding="utf-8").split()
        pid_number = int(pid)
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return True  # another machine's run on a shared disk: not ours to judge
    try:
        os.kill(pid_number, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def refuse_if_locked(directory: str | Path, *, flag: str = "--out") -> None:
    """Refuse ``directory`` while a live run holds its lock (see :func:`output_lock`)."""
    lock = Path(directory) / LOCK
    if lock.is_file() and _holder_alive(lock):
        holder = lock.read_text(encoding="utf-8").strip().replace(" ", ", pid ")
        raise RuLLMError(
            f"{directory}: another run is writing into it (host {holder})",
            hint=f"wait for it to finish or choose another {flag}; if no such run is alive, delete {lock}",
        )


@contextmanager
def output_lock(directory: str | Path, *, flag: str = "--out") -> Iterator[None]:
    """Hold ``directory`` for one run: a second run into the same place (a repeated command, a shell
    loop, a second job on a shared disk) is refused while the first one lives; a lock left by a killed
    run is taken over."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / LOCK
    owner = f"{socket.gethostname()} {os.getpid()}\n"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            refuse_if_locked(directory, flag=flag)
            lock.unlink(missing_ok=True)  # its run was killed
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(owner)
        break
    else:
        raise RuLLMError(f"{directory}: cannot take its lock file {LOCK}", hint=f"choose another {flag}")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if lock.read_text(encoding="utf-8") == owner:
                lock.unlink()


def remove_stale_work_dirs(target: str | Path) -> list[Path]:
    """Delete the temporary directories that killed runs into ``target`` left beside it; returns them."""
    target = Path(target)
    removed = []
    if not target.parent.is_dir():
        return removed
    for candidate in target.parent.glob(f".{target.name}.*"):
        if candidate.is_dir() and (candidate / PARTIAL).is_file() and not _owner_alive(candidate):
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


@contextmanager
def atomic_directory(target: str | Path, *, command: str = "ru-llm") -> Iterator[Path]:
    """A temporary directory beside ``target`` that replaces it when the block ends without an exception.

    A failure (or a kill) leaves ``target`` as it was; leftovers of killed runs are removed on the
    next call. The caller checks beforehand (:func:`check_output_dir`) whether an existing ``target``
    may be replaced; an existing non-empty directory that the toolkit did not make is never deleted.
    The finished directory carries the :data:`MARKER` file naming ``command``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_work_dirs(target)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    (work / PARTIAL).write_text(f"{socket.gethostname()} {os.getpid()}\n", encoding="utf-8")
    # mkdtemp makes the directory private (0700); the result should be as readable as any new directory.
    umask = os.umask(0)
    os.umask(umask)
    work.chmod(0o777 & ~umask)
    try:
        yield work
        if target.is_dir() and not target.is_symlink():
            if any(target.iterdir()) and not is_toolkit_output(target):
                raise RuLLMError(
                    f"{target}: not an output directory of ru-llm (no {MARKER} file); refusing to replace it",
                    hint="choose another output directory, or remove it yourself",
                )
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            raise RuLLMError(f"{target}: exists and is not a directory; refusing to replace it")
        (work / PARTIAL).unlink()
        write_marker(work, command)
        work.rename(target)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(work, ignore_errors=True)
        raise
