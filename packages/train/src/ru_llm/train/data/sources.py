"""Where a run's conversations come from, and what the data says about its licences.

``data`` is a ``ru-llm dataset build`` directory (train/validation JSONL plus its card and stats), a
conversation JSONL, a local Parquet/Arrow file or directory, or a Hugging Face dataset id. Every
conversation is read with :func:`ru_llm.core.validate.checked_conversation` (the turn rules ``dataset
build`` applies, with the same reasons) and every pair with the preference reader; bad records go to
``on_reject`` with their reason, nothing is dropped silently.

Licences come from the records' own stamps (``source``, ``license``, ``commercial``, written by every
dataset builder), counted as the records stream past (:class:`SourceCounter`), never guessed from a
licence string and never taken from a build's ``stats.json``: a build's ``train.jsonl`` handed over
alone is judged exactly as its directory. ``--commercial`` accepts only ``commercial: true``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ru_llm.core.errors import ConfigError, RecordError
from ru_llm.core.jsonl import Reject
from ru_llm.core.validate import checked_conversation, read_checked_conversations

if TYPE_CHECKING:
    from ru_llm.core.conversation import Conversation

T = TypeVar("T")


@dataclass
class DataSource:
    """One licence-bearing source as the model card reports it, with the stamps its records carried.

    ``commercial`` is true only when every record read was stamped ``commercial: true`` (for a cpt
    corpus: when the corpus config says ``commercial: true``).
    """

    name: str
    license: str
    commercial: bool
    records: int = 0
    unstamped: int = 0  # records without a ``commercial`` stamp (a corpus not marked either way)
    not_cleared: int = 0  # records stamped ``commercial: false`` (a corpus marked false)
    corpus: bool = False  # a cpt corpus, whose stamp is its config's ``commercial``

    @property
    def status(self) -> str:
        """``yes``, ``no`` or ``unknown`` (nothing says either way): the model card's column."""
        if self.commercial:
            return "yes"
        return "no" if self.not_cleared else "unknown"

    def why_not(self) -> str:
        """What keeps the source from being cleared, in a few words ("" when it is cleared)."""
        if self.commercial:
            return ""
        if self.corpus:
            return "corpus marked commercial: false" if self.not_cleared else "corpus not marked commercial: true"
        parts = []
        stamps = ((self.not_cleared, "stamped commercial: false"), (self.unstamped, "without a commercial stamp"))
        for n, what in stamps:
            if n:
                parts.append(f"{'all' if n == self.records else f'{n} of {self.records}'} records {what}")
        return "; ".join(parts) or "no records read"


def check_commercial(sources: list[DataSource]) -> None:
    """Refuse with one line naming every source that is not cleared for commercial use."""
    blocked = [s for s in sources if not s.commercial]
    if not sources:
        raise ConfigError("--commercial: the data names no source, so nothing is cleared for commercial use")
    if not blocked:
        return
    hints = []
    if any(not s.corpus and s.unstamped for s in blocked):
        hints.append("rebuild unstamped data with `ru-llm dataset build` or `ru-llm dataset load` (they stamp it)")
    if any(s.corpus for s in blocked):
        hints.append("mark a corpus you have cleared with `commercial: true` under cpt.corpora")
    hints.append("or drop these sources")
    raise ConfigError(
        "--commercial: not cleared for commercial use: "
        + ", ".join(f"{s.name} ({s.license}; {s.why_not()})" for s in blocked),
        hint="--commercial trains only on data stamped commercial: true; " + ", ".join(hints),
    )


@dataclass
class RunData:
    """The training (and optional validation) conversations of a run, with their provenance."""

    description: str
    train: Callable[[], Iterator[Conversation]]
    validation: Callable[[], Iterator[Conversation]] | None
    sources: list[DataSource] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # local inputs (the output directory must not hold them)


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
    return iter(read_checked_conversations(path, strict=False, on_reject=on_reject))


def _read_pairs(path: Path, on_reject: Callable[[Reject], object]) -> Iterator[Any]:
    from ru_llm.dataset.preference import read_preferences

    return iter(read_preferences(path, strict=False, on_reject=on_reject))


def _build_directory(path: Path, on_reject: Callable[[Reject], object], read: Reader) -> RunData:
    validation = path / "validation.jsonl"
    has_validation = validation.is_file() and validation.stat().st_size > 0
    return RunData(
        f"{path} (ru-llm dataset)",
        lambda: read(path / "train.jsonl", on_reject),
        (lambda: read(validation, on_reject)) if has_validation else None,
        files=[path],
    )


class SourceCounter:
    """Counts records per (source, licence) and licence stamp as they stream past: a run's sources."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, bool | None]] = Counter()

    def watch(self, records: Iterator[T]) -> Iterator[T]:
        for record in records:  # a Conversation or a PreferencePair (both carry source, license, commercial)
            key = (record.source or "unknown", record.license or "unknown", record.commercial)  # type: ignore[attr-defined]
            self.counts[key] += 1
            yield record

    def sources(self) -> list[DataSource]:
        by_source: dict[tuple[str, str], DataSource] = {}
        for (name, lic, stamp), n in self.counts.items():
            source = by_source.setdefault((name, lic), DataSource(name, lic, False))
            source.records += n
            if stamp is None:
                source.unstamped += n
            elif stamp is False:
                source.not_cleared += n
        for source in by_source.values():
            source.commercial = source.records > 0 and not source.unstamped and not source.not_cleared
        return [by_source[key] for key in sorted(by_source)]


def _hf_dataset(data: str, on_reject: Callable[[Reject], object], preferences: bool = False) -> RunData:
    """A local Parquet/Arrow file or directory, or a hub dataset, read with ``datasets``."""
    from ru_llm.core.deps import require_datasets

    datasets = require_datasets(f"data: {data}")
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
        parse = checked_conversation

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
