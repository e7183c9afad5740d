"""One run at a time writes into an output directory; a lock left by a killed run is taken over."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ru_llm.core.atomic import LOCK, check_output_dir, output_lock
from ru_llm.core.errors import RuLLMError


def test_a_second_run_is_refused_while_the_first_holds_the_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_lock(out, flag="output_dir"):
        assert (out / LOCK).read_text() == f"{socket.gethostname()} {os.getpid()}\n"
        check_output_dir(out, overwrite=False)  # the lock alone is not content
        with pytest.raises(RuLLMError) as caught, output_lock(out, flag="output_dir"):
            pass
        assert f"another run is writing into it (host {socket.gethostname()}, pid {os.getpid()})" in str(caught.value)
        assert "delete" in (caught.value.hint or "")
    assert not (out / LOCK).exists()  # released when the run ends


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (out / LOCK).write_text(f"{socket.gethostname()} {dead.stdout.strip()}\n", encoding="utf-8")
    with output_lock(out):
        assert (out / LOCK).read_text().split()[1] == str(os.getpid())
