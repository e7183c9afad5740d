"""Long work reports progress off a terminal too: plain periodic lines with count, percent and time left."""

from __future__ import annotations

import io
import time

from rich.console import Console
from rich.progress import Progress

from ru_llm.core.progress import LineProgress, make_progress


def test_off_a_terminal_progress_is_periodic_plain_lines() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    progress = make_progress(console=console, interval=0.05)
    assert isinstance(progress, LineProgress)
    with progress:
        task = progress.add_task("translating", total=10)
        progress.update(task, completed=5)
        time.sleep(0.3)
        progress.update(task, completed=10)
    lines = out.getvalue().splitlines()
    assert any(line.startswith("translating: 5/10 (50%)") for line in lines), lines
    assert lines[-1] == "translating: 10/10 (100%), done"
    assert "\x1b" not in out.getvalue()  # no terminal control codes in a log file


def test_an_open_ended_task_reports_its_count() -> None:
    out = io.StringIO()
    progress = LineProgress(console=Console(file=out, force_terminal=False), interval=60)
    with progress:
        task = progress.add_task("reading", total=None)
        progress.advance(task, 1234)
    assert out.getvalue().splitlines() == ["reading: 1,234"]


def test_on_a_terminal_it_is_rich_live_display() -> None:
    console = Console(file=io.StringIO(), force_terminal=True)
    progress = make_progress(console=console)
    assert type(progress) is Progress
