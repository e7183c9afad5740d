"""atomic_directory: an output directory appears whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from ru_llm.core.atomic import atomic_directory


def test_replaces_the_target_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as work:
        (work / "new.txt").write_text("new")
        raise RuntimeError("stop")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "the work directory is cleaned up"
    with atomic_directory(target) as work:
        (work / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]


def test_creates_parents_and_replaces_a_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    target.parent.mkdir()
    target.write_text("a file where the directory goes")
    with atomic_directory(target) as work:
        (work / "x").write_text("x")
    assert target.is_dir() and (target / "x").read_text() == "x"


def test_the_result_is_as_readable_as_any_new_directory(tmp_path: Path) -> None:
    import os

    umask = os.umask(0o022)
    try:
        with atomic_directory(tmp_path / "out") as work:
            (work / "x.txt").write_text("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755  # not mkdtemp's private 0700
