"""Where the toolkit caches things, and the append-only JSONL cache that survives a kill at any moment.

Every cache lives under :func:`cache_root` unless the user names a cache file or directory.
:class:`JsonlCache` appends one ``{"key": ..., <field>: ...}`` object a line; a line cut by a kill is
skipped when the file is read (that entry is simply made again) and never gets the next record glued
onto it: an append to a file that does not end with a newline starts a new line first.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)


def cache_root() -> Path:
    """``$RU_LLM_CACHE_DIR``, else ``$XDG_CACHE_HOME/ru-llm``, else ``~/.cache/ru-llm``.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG base directory specification says.
    """
    own = os.environ.get("RU_LLM_CACHE_DIR")
    if own:
        return Path(own).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "ru-llm"


class JsonlCache:
    """Keyed entries kept as appended JSON lines; the last line for a key wins. Thread-safe.

    :param field: the name the value is stored under beside ``"key"``.
    :param index: what an entry is found by (default: its ``"key"``); e.g. ``(key, record id)``.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        field: str = "value",
        index: Callable[[dict[str, Any]], Hashable] | None = None,
    ) -> None:
        self.path = Path(path)
        self.field = field
        self._index = index or (lambda entry: entry["key"])
        self._lock = threading.Lock()
        self.entries: dict[Hashable, Any] = {}
        #: lines that could not be read (cut by a kill, or not this cache's): skipped, their entries made again
        self.skipped = 0
        if self.path.is_file():
            self._read()

    def _read(self) -> None:
        first = 0
        for number, raw in enumerate(self.path.read_bytes().split(b"\n"), 1):
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw.decode("utf-8"))
                self.entries[self._index(entry)] = entry[self.field]
            except (ValueError, KeyError, TypeError):  # UnicodeDecodeError is a ValueError
                self.skipped += 1
                first = first or number
        if self.skipped:
            _log.warning("%s:%d: skipped %d cut or unreadable line(s); their entries are made again",
                         self.path, first, self.skipped)  # fmt: skip

    def get(self, key: Hashable) -> Any | None:
        return self.entries.get(key)

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` and append it to the file (after a newline if the last line was cut)."""
        entry = {"key": key, self.field: value}
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.entries[self._index(entry)] = value
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as fh:
                end = fh.seek(0, os.SEEK_END)
                if end:
                    fh.seek(end - 1)
                    if fh.read(1) != b"\n":
                        line = b"\n" + line
                fh.write(line)  # "a" mode: written at the end whatever the position

    def __len__(self) -> int:
        return len(self.entries)
