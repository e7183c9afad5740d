"""Where a run's conversations come from, and what the data says about its licences.

``data`` is a ``ru-llm dataset build`` directory (train/validation JSONL plus its card and stats), a
conversation JSONL, a local Parquet/Arrow file or directory, or a Hugging Face dataset id. Bad records
go to ``on_reject`` with their reason; nothing is dropped silently.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ru_llm.core.conversation import Conversation
from ru_llm.core.errors import ConfigError, RecordError
from ru_llm.core.jsonl import Reject, read_conversations

T = TypeVar("T")

# Licences whose terms forbid commercial use (SPDX ids and the spellings dataset cards use).
_NON_COMMERCIAL_MARKS = ("-nc", "nc-", "noncommercial", "non-commercial", "research-only", "openrail-nc")


@dataclass
class DataSource:
    """One licence-bearing source as the model card reports it."""

    name: str
    license: str
    commercial: bool
    records: int = 0


@dataclass
class RunData:
    """The training (and optional validation) conversations of a run, with their provenance."""

    description: str
    train: Callable[[], Iterator[Conversation]]
    validation: Callable[[], Iterator[Conversation]] | None
    sources: list[DataSource] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # local inputs (the output directory must not hold them)


def license_allows_commercial(license: str | None) -> bool:
    """Whether a licence string permits commercial use (unknown or missing: no)."""
    if not license or license.strip().lower() in {"unknown", "other", "none"}:
        return False
    lowered = license.strip().lower()
    return not any(mark in lowered for mark in _NON_COMMERCIAL_MARKS)


def open_data(
    data: str,
    *,
    on_reject: Callable[[Reject], object],
    validation_data: str | None = None,
    preferences: bool = False,
) -> RunData:
    """The conversations named by a run config's ``data`` (and ``validation_data``).

    :param preferences: read preference pairs (``ru_llm.dataset.preference.PreferencePair``) instead:
        records in the common schema with ``chosen``/``rejected``, or TRL's ``prompt``/``chosen``/``rejected``.
    """
    read = _read_pairs if preferences else _read_conversations
    path = Path(data).expanduser()
    looks_local = data.startswith(("./", "../", "/", "~")) or data.endswith((".jsonl", ".gz", ".json", ".parquet"))
    if looks_local and not path.exists():
        raise ConfigError(f"data: {data}: no such file or directory")
    if path.is_dir() and (path / "train.jsonl").is_file():
        run = _build_directory(path, on_reject, read)
    elif path.is_file() and path.name.endswith((".jsonl", ".jsonl.gz", ".json")):
        run = RunData(str(path), lambda: read(path, on_reject), None, files=[path])
    elif path.exists() or data.startswith("hf:"):
        run = _hf_dataset(data.removeprefix("hf:"), on_reject, preferences)
    elif "/" in data:  # a hub id such as "IlyaGusev/saiga_scored"
        run = _hf_dataset(data, on_reject, preferences)
    else:
        raise ConfigError(
            f"data: {data!r} is neither a file, a directory nor a Hugging Face dataset id",
            hint="give a `ru-llm dataset build` output directory, a conversation JSONL or a hub id (owner/name)",
        )
    if validation_data is not None:
        vpath = Path(validation_data).expanduser()
        if not vpath.is_file():
            raise ConfigError(f"validation_data: {validation_data}: no such file")
        run.validation = lambda: read(vpath, on_reject)
        run.files.append(vpath)
    return run


Reader = Callable[[Path, Callable[[Reject], object]], Iterator[Any]]


def _read_conversations(path: Path, on_reject: Callable[[Reject], object]) -> Iterator[Conversation]:
    return iter(read_conversations(path, strict=False, on_reject=on_reject))


def _read_pairs(path: Path, on_reject: Callable[[Reject], object]) -> Iterator[Any]:
    from ru_llm.dataset.preference import read_preferences

    return iter(read_preferences(path, strict=False, on_reject=on_reject))


def _build_directory(path: Path, on_reject: Callable[[Reject], object], read: Reader) -> RunData:
    validation = path / "validation.jsonl"
    has_validation = validation.is_file() and validation.stat().st_size > 0
    sources: list[DataSource] = []
    stats = path / "stats.json"
    if stats.is_file():
        try:
            report = json.loads(stats.read_text(encoding="utf-8"))
            for s in report.get("sources", []):
                sources.append(
                    DataSource(
                        name=str(s.get("label") or s.get("builder") or "?"),
                        license=str(s.get("license") or "unknown"),
                        commercial=bool(s.get("commercial")),
                        records=int(s.get("train") or s.get("kept") or 0),
                    )
                )
        except (OSError, ValueError, TypeError, AttributeError) as e:
            raise ConfigError(f"{stats}: cannot read the dataset's statistics: {e}") from None
    return RunData(
        f"{path} (ru-llm dataset)",
        lambda: read(path / "train.jsonl", on_reject),
        (lambda: read(validation, on_reject)) if has_validation else None,
        sources,
        files=[path],
    )


class SourceCounter:
    """Counts conversations per (source, licence) as they stream past: the sources of data without a card."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def watch(self, records: Iterator[T]) -> Iterator[T]:
        for record in records:  # a Conversation or a PreferencePair (both carry source and license)
            self.counts[(record.source or "unknown", record.license or "unknown")] += 1  # type: ignore[attr-defined]
            yield record

    def sources(self) -> list[DataSource]:
        return [
            DataSource(name, lic, license_allows_commercial(lic), n) for (name, lic), n in sorted(self.counts.items())
        ]


def _hf_dataset(data: str, on_reject: Callable[[Reject], object], preferences: bool = False) -> RunData:
    """A local Parquet/Arrow file or directory, or a hub dataset, read with ``datasets``."""
    from ru_llm.core.deps import require

    datasets = require("datasets", purpose=f"data: {data}", package="ru-llm-dataset", extra="hf")
    path = Path(data).expanduser()
    try:
        if path.is_file() and path.suffix in (".parquet", ".arrow"):
            kind = "parquet" if path.suffix == ".parquet" else "arrow"
            table = datasets.load_dataset(kind, data_files=str(path), split="train")
        elif path.is_dir():
            try:
                table = datasets.load_from_disk(str(path))
            except (FileNotFoundError, ValueError):
                table = datasets.load_dataset(str(path), split="train")
            if isinstance(table, datasets.DatasetDict):
                table = table["train"]
        else:
            table = datasets.load_dataset(data, split="train")
    except Exception as e:  # datasets raises many types for missing, offline or malformed data
        from ru_llm.core.errors import first_line

        raise ConfigError(
            f"data: cannot load {data!r}: {first_line(e)}",
            hint="offline? pass a local file or directory; HF_HUB_OFFLINE=1 skips the network",
        ) from None

    if preferences:
        from ru_llm.dataset.preference import preference_from_dict

        parse: Callable[..., Any] = preference_from_dict
    else:
        parse = Conversation.from_dict

    def rows() -> Iterator[Any]:
        for i, row in enumerate(table):
            record = dict(row)
            if record.get("id") is None:  # Arrow gives a missing column as null
                record["id"] = f"{path.name or data}-{i}"
            try:
                yield parse(record, location=f"{data}[{i}]")
            except RecordError as e:
                on_reject(Reject(e.reason, file=data, line=i, record_id=e.record_id, record=record))

    return RunData(data, rows, None, files=[path] if path.exists() else [])
