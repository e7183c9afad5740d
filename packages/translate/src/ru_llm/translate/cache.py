"""A SQLite cache of translated segments: reruns and resumes after ``kill -9`` cost nothing.

Each entry is keyed by a digest of the settings that change a translation (backend, model, decoding,
retry, check thresholds) and the segment text. Entries are committed a batch at a time, so a killed
run loses at most the batch in flight. Several processes on one machine may share a cache file (WAL
mode, busy timeout); shards on different machines each write their own and ``merge`` folds them.
The commands' default file is ``translate.sqlite`` under :func:`ru_llm.core.cache.cache_root`
(``$XDG_CACHE_HOME/ru-llm``, where every ru-llm cache lives).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ru_llm.core.errors import RuLLMError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    key BLOB PRIMARY KEY,
    source TEXT NOT NULL,
    translation TEXT NOT NULL,
    flags TEXT NOT NULL,
    settings TEXT NOT NULL
)
"""
_RECORDS = """
CREATE TABLE IF NOT EXISTS records (
    key BLOB PRIMARY KEY,
    result TEXT NOT NULL
)
"""
_CHUNK = 500  # rows per SELECT ... IN (...): below SQLite's variable limit


@dataclass(frozen=True)
class CachedSegment:
    translation: str
    flags: tuple[str, ...]


def settings_digest(settings: dict[str, Any]) -> str:
    """A stable digest of everything that changes a translation."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class TranslationCache:
    """Segment translations for one set of settings, stored in SQLite (``path=None``: in memory)."""

    def __init__(self, path: str | Path | None, settings: dict[str, Any]) -> None:
        self.path = Path(path) if path is not None else None
        self.settings = settings
        self.digest = settings_digest(settings)
        self._settings_json = json.dumps(settings, sort_keys=True, ensure_ascii=False)
        target = ":memory:"
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            target = str(self.path)
        try:
            self.db = sqlite3.connect(target, timeout=60)
            if self.path is not None:
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(_SCHEMA)
            self.db.execute(_RECORDS)
            self.db.commit()
        except sqlite3.DatabaseError as e:
            raise RuLLMError(f"{target}: not a usable translation cache: {e}", hint="use another cache file") from e

    def key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.digest}\x00{text}".encode()).digest()

    def _select(self, table: str, columns: str, keys: Sequence[bytes]) -> Iterator[tuple[Any, ...]]:
        for start in range(0, len(keys), _CHUNK):
            chunk = list(keys[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(f"SELECT key, {columns} FROM {table} WHERE key IN ({marks})", chunk)

    def get_many(self, texts: Sequence[str]) -> dict[str, CachedSegment]:
        """The cached entries among ``texts``."""
        keys = {self.key(t): t for t in texts}
        return {
            keys[key]: CachedSegment(translation, tuple(json.loads(flags)))
            for key, translation, flags in self._select("segments", "translation, flags", list(keys))
        }

    # Whole records: a rerun of the same data skips segmentation and assembly too.
    def get_records(self, keys: Sequence[bytes]) -> dict[bytes, dict[str, Any]]:
        """Stored results (``{"conversation": ...}`` or ``{"reject": reason}``) for record keys."""
        return {key: json.loads(result) for key, result in self._select("records", "result", keys)}

    def put_records(self, items: Iterable[tuple[bytes, dict[str, Any]]]) -> None:
        rows = [(key, json.dumps(result, ensure_ascii=False)) for key, result in items]
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?)", rows)

    def put_many(self, items: Iterable[tuple[str, str, Sequence[str]]]) -> None:
        """Store ``(source, translation, flags)`` entries and commit: they survive a kill from now on."""
        rows = [
            (self.key(source), source, translation, json.dumps(list(flags)), self._settings_json)
            for source, translation, flags in items
        ]
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?)", rows)

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM segments").fetchone()[0]

    def close(self) -> None:
        self.db.close()


def merge_caches(target: str | Path, sources: Sequence[str | Path]) -> int:
    """Copy every entry of ``sources`` into ``target`` (entries already there are kept); returns the count."""
    db = sqlite3.connect(str(target), timeout=60)
    db.execute(_SCHEMA)
    before = db.execute("SELECT COUNT(*) FROM segments").fetchone()[0]
    for source in sources:
        if not Path(source).is_file():
            raise RuLLMError(f"{source}: no such cache file")
        with db:
            db.execute("ATTACH DATABASE ? AS other", (str(source),))
            try:
                db.execute("INSERT OR IGNORE INTO segments SELECT * FROM other.segments")
            except sqlite3.DatabaseError as e:
                raise RuLLMError(f"{source}: not a translation cache: {e}") from e
        db.execute("DETACH DATABASE other")
    after = db.execute("SELECT COUNT(*) FROM segments").fetchone()[0]
    db.close()
    return after - before


def iter_entries(path: str | Path) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """Every ``(source, translation, flags)`` in a cache file (for inspection and tests)."""
    db = sqlite3.connect(str(path))
    try:
        for source, translation, flags in db.execute("SELECT source, translation, flags FROM segments"):
            yield source, translation, tuple(json.loads(flags))
    finally:
        db.close()
