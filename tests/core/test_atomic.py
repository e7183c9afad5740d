"""Output directories: they appear whole or not at all, and --overwrite only replaces the toolkit's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ru_llm.core.atomic import (
    MARKER,
    PARTIAL,
    atomic_directory,
    check_output_dir,
    is_toolkit_output,
    remove_stale_work_dirs,
)
from ru_llm.core.errors import RuLLMError


def test_replaces_the_target_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_directory(target, command="test") as work:
        (work / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as work:
        (work / "new.txt").write_text("new")
        raise RuntimeError("stop")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "the work directory is cleaned up"
    with atomic_directory(target) as work:
        (work / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "new.txt"]
    assert '"command": "test"' not in (target / MARKER).read_text()


def test_never_replaces_a_directory_it_did_not_make(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "recipe.yaml").write_text("precious")
    with pytest.raises(RuLLMError, match="not an output directory of ru-llm"), atomic_directory(target) as work:
        (work / "x").write_text("x")
    assert (target / "recipe.yaml").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_never_replaces_a_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    target.parent.mkdir()
    target.write_text("a file where the directory goes")
    with pytest.raises(RuLLMError, match="not a directory"), atomic_directory(target) as work:
        (work / "x").write_text("x")
    assert target.read_text() == "a file where the directory goes"


def test_creates_parents_and_an_empty_target_is_fine(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for target in (tmp_path / "a" / "b", tmp_path / "empty"):
        with atomic_directory(target) as work:
            (work / "x").write_text("x")
        assert (target / "x").read_text() == "x" and is_toolkit_output(target)


def test_the_result_is_as_readable_as_any_new_directory(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        with atomic_directory(tmp_path / "out") as work:
            (work / "x.txt").write_text("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755  # not mkdtemp's private 0700


def test_check_output_dir_rules(tmp_path: Path) -> None:
    check_output_dir(tmp_path / "new", overwrite=False)  # absent: fine
    user = tmp_path / "user"
    user.mkdir()
    (user / "data.jsonl").write_text("{}\n")
    with pytest.raises(RuLLMError, match="already exists and is not empty") as e:
        check_output_dir(user, overwrite=False)
    assert "--overwrite" in (e.value.hint or "")
    with pytest.raises(RuLLMError, match=f"no {MARKER} file"):
        check_output_dir(user, overwrite=True)
    with pytest.raises(RuLLMError, match="holds an input"):
        check_output_dir(tmp_path, overwrite=True, inputs=[user / "data.jsonl"])
    (user / MARKER).write_text("{}")
    check_output_dir(user, overwrite=True)  # ours: may be replaced
    (tmp_path / "file").write_text("x")
    with pytest.raises(RuLLMError, match="not a directory"):
        check_output_dir(tmp_path / "file", overwrite=True)


def test_a_killed_run_leaves_a_work_directory_that_the_next_run_removes(tmp_path: Path) -> None:
    target = tmp_path / "out"
    script = (
        "import os, sys\n"
        "from ru_llm.core.atomic import atomic_directory\n"
        f"with atomic_directory({str(target)!r}) as work:\n"
        "    (work / 'half.txt').write_text('half')\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=False)
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert len(leftovers) == 1 and (leftovers[0] / PARTIAL).is_file() and not target.exists()
    with atomic_directory(target) as work:
        (work / "x").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_live_run_keeps_its_work_directory(tmp_path: Path) -> None:
    with atomic_directory(tmp_path / "out") as work:
        assert remove_stale_work_dirs(tmp_path / "out") == []  # our own process is alive
        assert work.is_dir()
