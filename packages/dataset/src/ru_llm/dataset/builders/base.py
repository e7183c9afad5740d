"""The dataset-builder contract: a source of raw rows and a converter to conversations.

A builder declares where its data lives (a hub id, or a local file/dir given with ``--source``), its
licence and whether commercial use is allowed, its language, and how one raw row becomes zero or more
:class:`Conversation` records. A row that cannot be converted raises :class:`RecordError`; the
loader sends it to the rejects file with its reason and carries on, so nothing is lost silently.

Licence stamps: :meth:`DatasetBuilder.load` stamps every record it yields with ``source`` (the builder's
name unless the converter set one), ``license`` (the converter's, else the builder's or the options')
and the boolean ``commercial``: the builder's ``commercial`` attribute, or the source's ``commercial``
option where the builder has one. A record that already carries ``commercial: false`` (a file an earlier
stage stamped) stays false: a stamp can be lowered by what a later stage knows, never raised by it.
Training's ``--commercial`` trusts these stamps and nothing else.

A preference builder sets ``produces = "preference"`` and yields
:class:`~ru_llm.dataset.preference.PreferencePair` records (or their carrier conversations);
:meth:`DatasetBuilder.load` streams every pair as its carrier (``PreferencePair.to_conversation``),
so loading, rejecting and counting work the same for both kinds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ru_llm.core.conversation import Conversation
from ru_llm.core.deps import require_datasets
from ru_llm.core.errors import ConfigError, RecordError, RuLLMError
from ru_llm.core.jsonl import Reject
from ru_llm.dataset.preference import PreferencePair
from ru_llm.dataset.rows import Row, read_rows

PRODUCES = ("conversation", "preference")

OnReject = Callable[[Reject], object]


@dataclass(frozen=True)
class NoOptions:
    """Builders without options."""


@dataclass
class LoadStats:
    """What one load saw: raw records read, conversations produced, records rejected (by reason).

    ``rows`` counts every record of the source, including lines that did not decode, so for builders
    that make one conversation per record ``rows == conversations + rejected``.
    """

    rows: int = 0
    conversations: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


@dataclass(frozen=True)
class _Stamp:
    """What a builder knows about its records' provenance, written onto each one."""

    source: str
    license: str
    commercial: bool

    def __call__(self, conv: Conversation) -> Conversation:
        commercial = self.commercial and conv.commercial is not False
        if conv.commercial is commercial and conv.source is not None and conv.license is not None:
            return conv
        return dataclasses.replace(
            conv, commercial=commercial, source=conv.source or self.source, license=conv.license or self.license
        )


class DatasetBuilder:
    """Base class of every dataset builder (built-in or plugin).

    Subclasses set the class attributes and implement :meth:`convert`; they may override
    :meth:`read_local` (a layout other than JSONL/JSON/Parquet rows) or :meth:`read_hub`.
    """

    name: ClassVar[str]
    hub_id: ClassVar[str | None] = None
    hub_config: ClassVar[str | None] = None
    hub_split: ClassVar[str] = "train"
    #: files inside the hub repository to read (``data_files=``), for repositories holding several sets
    hub_data_files: ClassVar[str | None] = None
    license: ClassVar[str]
    commercial: ClassVar[bool]
    lang: ClassVar[str | None]
    description: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    #: a dataclass of this builder's options; unknown keys are an error naming the key
    options_class: ClassVar[type] = NoOptions
    #: what :meth:`convert` yields: "conversation" records or "preference" pairs
    produces: ClassVar[str] = "conversation"

    # -- options --------------------------------------------------------------------------------
    def parse_options(self, options: Mapping[str, Any] | None = None) -> Any:
        """Validate options (from a recipe or the command line) into ``options_class``."""
        options = dict(options or {})
        known = {f.name for f in dataclasses.fields(self.options_class)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"dataset builder {self.name!r} has no option {unknown[0]!r}",
                hint=f"its options: {', '.join(sorted(known)) or 'none'}",
            )
        try:
            return self.options_class(**options)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"dataset builder {self.name!r}: {e}") from e

    # -- reading raw rows -----------------------------------------------------------------------
    def read_local(self, path: Path, on_reject: OnReject) -> Iterator[Row]:
        """Rows of a local file or directory (JSONL, JSON array, Parquet)."""
        return read_rows(path, on_reject)

    def hub_location(self, options: Any) -> tuple[str | None, str | None, str, str | None]:
        """``(hub id, config, split, data files)`` to read; a builder whose options name them overrides this."""
        return self.hub_id, self.hub_config, self.hub_split, self.hub_data_files

    def read_hub(self, options: Any) -> Iterator[Row]:
        """Rows from the Hugging Face hub (``datasets.load_dataset``, streamed)."""
        hub_id, config, split, data_files = self.hub_location(options)
        if not hub_id:
            raise RuLLMError(f"dataset builder {self.name!r} has no hub id", hint="pass --source PATH")
        datasets = require_datasets(f"reading {hub_id} from the hub")
        try:
            extra = {"data_files": data_files} if data_files else {}
            stream = datasets.load_dataset(hub_id, config, split=split, streaming=True, **extra)
            for index, record in enumerate(stream):
                yield Row(f"{hub_id}[{index}]", index, record)
        except RuLLMError:
            raise
        except Exception as e:  # offline, gated, renamed: the hub has many ways to fail
            raise RuLLMError(
                f"cannot load {hub_id!r} from the Hugging Face hub ({type(e).__name__}: {e})",
                hint=f"download it and pass --source PATH (a file or directory with the {self.name} data)",
            ) from e

    def rows(self, source: Path | None, options: Any, on_reject: OnReject) -> Iterator[Row]:
        """The raw rows :meth:`load` converts: a local file/dir when ``source`` is given, else the hub.

        Override to regroup rows (e.g. flat messages into trees); rows that cannot be grouped go to
        ``on_reject``.
        """
        if source is not None:
            return self.read_local(source, on_reject)
        return self.read_hub(options)

    # -- converting -----------------------------------------------------------------------------
    def convert(self, row: Row, options: Any) -> Iterable[Conversation | PreferencePair]:
        """Conversations (or, for a preference builder, pairs) made from one raw row; raise
        :class:`RecordError` to reject the row."""
        raise NotImplementedError

    def load(
        self,
        source: str | Path | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        on_reject: OnReject,
        stats: LoadStats | None = None,
    ) -> Iterator[Conversation]:
        """Stream conversations from ``source`` (default: the hub), rejecting bad rows with reasons."""
        parsed = self.parse_options(options)
        stats = stats if stats is not None else LoadStats()

        def reject(item: Reject) -> None:
            stats.reject(item.reason)
            on_reject(item)

        def reject_unread(item: Reject) -> None:  # a record that never became a row (undecodable, ungroupable)
            stats.rows += 1
            reject(item)

        path = None
        if source is not None:
            path = Path(source)
            if not path.exists():
                raise RuLLMError(f"{path}: no such file or directory", hint="check --source")
        info = self.info(options)
        stamp = _Stamp(self.name, info["license"], bool(info["commercial"]))
        for row in self.rows(path, parsed, reject_unread):
            stats.rows += 1
            try:
                produced = list(self.convert(row, parsed))
            except RecordError as e:
                reject(Reject(e.reason, file=row.file, line=row.line, record_id=e.record_id, record=row.record))
                continue
            for record in produced:
                stats.conversations += 1
                yield stamp(record.to_conversation() if isinstance(record, PreferencePair) else record)

    def info(self, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Metadata for listings and dataset cards.

        :param options: the options a source is loaded with. Options named ``license``, ``commercial``
            or ``lang`` (the ``file`` builder's, say) override the builder's own values when set.
        """
        info = {
            "name": self.name,
            "hub_id": self.hub_id,
            "license": self.license,
            "commercial": self.commercial,
            "lang": self.lang,
            "description": self.description,
            "produces": self.produces,
        }
        if options is not None:
            parsed = self.parse_options(options)
            for key in ("hub_id", "license", "commercial", "lang"):
                if getattr(parsed, key, None) is not None:
                    info[key] = getattr(parsed, key)
        return info
