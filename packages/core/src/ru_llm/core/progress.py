"""Progress for long work, on a terminal and off it.

On a terminal, rich's live bars. Piped into a file or a CI log, rich draws nothing until the end, so a
command that works for minutes looks hung: there, :class:`LineProgress` prints one plain line per task
every ``RU_LLM_PROGRESS_SECONDS`` seconds (default 30) with the count, the percentage and the time left,
and a last line when the work ends.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from rich.progress import Progress

DEFAULT_SECONDS = 30.0


def progress_interval() -> float:
    try:
        return max(0.1, float(os.environ.get("RU_LLM_PROGRESS_SECONDS", DEFAULT_SECONDS)))
    except ValueError:
        return DEFAULT_SECONDS


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class LineProgress(Progress):
    """A rich ``Progress`` that reports in plain, periodic lines instead of a live display."""

    def __init__(self, *columns: Any, interval: float | None = None, **options: Any) -> None:
        options.update(auto_refresh=False, transient=True)
        super().__init__(*columns, **options)
        self.interval = interval if interval is not None else progress_interval()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="ru-llm-progress", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._done.set()
        self._thread.join()
        self._thread = None
        self.report()

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            self.report()

    def lines(self) -> list[str]:
        """One line per visible task: ``label: 450/1,000 (45%), 2m10s left``."""
        found = []
        for task in self.tasks:
            if not task.visible:
                continue
            label = str(task.description).strip() or "working"
            line = f"{label}: {task.completed:,.0f}"
            if task.total:
                line += f"/{task.total:,.0f} ({task.percentage:.0f}%)"
                if task.finished:
                    line += ", done"
                elif task.time_remaining is not None:
                    line += f", {_duration(task.time_remaining)} left"
            found.append(line)
        return found

    def report(self) -> None:
        for line in self.lines():
            self.console.print(line, highlight=False, markup=False, soft_wrap=True)


def make_progress(*columns: Any, console: Any, **options: Any) -> Progress:
    """Rich's live ``Progress`` on a terminal, :class:`LineProgress` elsewhere (same columns and calls)."""
    interval = options.pop("interval", None)
    if console is not None and not console.is_terminal:
        return LineProgress(*columns, console=console, interval=interval, **options)
    return Progress(*columns, console=console, **options)
