"""``ru-llm dataset build``: mix sources into train/validation files with a rejects file and a card.

Per source, in order: load (bad rows rejected by the builder), turn structure and filters, the
per-source cap (a seeded sample), then across sources exact duplicate removal, unique ids, weights
(repeats, or a seeded sample below 1), near duplicate removal, the split by the hash of the
conversation's group (:func:`~ru_llm.dataset.order.split_key`) and the seeded shuffle. Every
conversation that is not written goes to ``rejects.jsonl`` with its reason: records in = kept +
rejected. The output directory is built beside the target and renamed into place, so a failed build
leaves nothing behind.

A recipe whose sources are preference builders (``produces = "preference"``) builds preference pairs
the same way: builders hand each pair over as a carrier conversation (the prompt, with the replies in
``meta["preference"]``), so loading, caps, weights, ids, rejects and the card need no second code
path. What differs is small and kept here or beside the data: the structure check
(:func:`~ru_llm.dataset.preference.carrier_problem` instead of the turn check), filters looking at
:func:`~ru_llm.dataset.preference.filter_view`, dedup comparing both replies (:mod:`.dedup`), the split
grouped by prompt (:func:`~ru_llm.dataset.order.split_key`), and records written (and rejected) in the
common preference schema. A recipe mixing preference and conversation sources is an error: the two
kinds of record train different things and cannot share a file.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.atomic import atomic_directory, check_output_dir
from ru_llm.core.conversation import Conversation
from ru_llm.core.errors import ConfigError
from ru_llm.core.jsonl import JsonlWriter, Reject, RejectsWriter, to_json_line
from ru_llm.dataset.builders.base import DatasetBuilder, LoadStats
from ru_llm.dataset.dedup import ExactDedup, NearDedup
from ru_llm.dataset.filters import first_failure, spec_checks, turn_structure
from ru_llm.dataset.order import ShuffleBuffer, copies, id_hash, in_validation, shuffle_key, split_key
from ru_llm.dataset.preference import carrier_problem, carrier_to_dict, filter_view
from ru_llm.dataset.recipe import Recipe, SourceSpec
from ru_llm.dataset.registry import get_dataset_builder

Progress = Callable[[str, int], None]  # (source label, conversations read so far)
INVALID = "invalid record"  # rows a builder could not convert; each one's own reason is in rejects.jsonl


@dataclass
class SourceReport:
    """Counts and provenance of one source in a build."""

    label: str
    builder: str
    hub_id: str | None
    source: str | None
    license: str
    commercial: bool
    lang: str | None
    produces: str = "conversation"  # or "preference": what the builder makes
    rows: int = 0
    loaded: int = 0
    kept: int = 0
    train: int = 0
    validation: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    #: kept records whose licence stamp is not ``commercial: true`` (a file stamped false by an earlier stage)
    uncleared: int = 0

    @property
    def cleared(self) -> bool:
        """Whether every record this source wrote is stamped ``commercial: true``."""
        return self.commercial and not self.uncleared


@dataclass
class BuildReport:
    out_dir: Path
    sources: list[SourceReport]
    recipe: Recipe
    #: every reason exactly as ``rejects.jsonl`` writes it, with its count
    reject_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def train(self) -> int:
        return sum(s.train for s in self.sources)

    @property
    def validation(self) -> int:
        return sum(s.validation for s in self.sources)

    @property
    def rejected(self) -> int:
        return sum(sum(s.rejected.values()) for s in self.sources)

    @property
    def records_in(self) -> int:
        """Conversations loaded plus raw rows the builders rejected."""
        return sum(self.source_in(s) for s in self.sources)

    @property
    def kept(self) -> int:
        return sum(s.kept for s in self.sources)

    @staticmethod
    def source_in(source: SourceReport) -> int:
        """One source's records in: what its builder converted plus the rows it could not convert."""
        return source.loaded + source.rejected[INVALID]

    @property
    def commercial(self) -> bool:
        return all(s.cleared for s in self.sources)

    @property
    def kind(self) -> str:
        """``"conversation"`` or ``"preference"`` (a recipe never mixes them)."""
        return "preference" if any(s.produces == "preference" for s in self.sources) else "conversation"

    def reasons(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for s in self.sources:
            total.update(s.rejected)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "kind": self.kind,
            "records_in": self.records_in,
            "kept": self.kept,
            "rejected": self.rejected,
            "train": self.train,
            "validation": self.validation,
            "commercial": self.commercial,
            "sources": [
                {**dataclasses.asdict(s), "rejected": dict(s.rejected), "languages": dict(s.languages)}
                for s in self.sources
            ],
        }


@dataclass(frozen=True)
class _Source:
    spec: SourceSpec
    builder: DatasetBuilder
    options: Any
    report: SourceReport


def _resolve(spec: SourceSpec) -> _Source:
    builder = get_dataset_builder(spec.builder)
    options = builder.parse_options(spec.options)
    info = builder.info(spec.options)  # licence and language in effect (the `file` builder's come from options)
    report = SourceReport(
        label=spec.label,
        builder=builder.name,
        hub_id=info.get("hub_id"),
        source=spec.source,
        license=info["license"],
        commercial=bool(info["commercial"]),
        lang=info["lang"],
        produces=getattr(builder, "produces", "conversation"),
    )
    return _Source(spec, builder, options, report)


def check_commercial(sources: Iterable[SourceReport]) -> None:
    """Refuse, naming every source that is not cleared for commercial use (or wrote a record stamped so)."""
    blocked = [s for s in sources if not s.cleared]
    if blocked:
        names = ", ".join(
            f"{s.label} ({s.license}" + (f"; {s.uncleared} records stamped commercial: false)" if s.commercial else ")")
            for s in blocked
        )
        raise ConfigError(
            f"--commercial: not cleared for commercial use: {names}",
            hint="drop these sources, or, for your own files, declare options: {commercial: true, license: ...}",
        )


def check_kinds(sources: Iterable[SourceReport]) -> None:
    """Refuse a recipe that mixes preference sources with conversation sources, naming both."""
    sources = list(sources)
    pairs = [s.label for s in sources if s.produces == "preference"]
    convs = [s.label for s in sources if s.produces != "preference"]
    if pairs and convs:
        raise ConfigError(
            f"the recipe mixes preference sources ({', '.join(pairs)}) with conversation sources ({', '.join(convs)})",
            hint="build preference pairs and conversations as two datasets, with two recipes",
        )


class _Builder:
    """One build run: the state shared by all sources (rejects, dedup tables, outputs)."""

    def __init__(
        self, recipe: Recipe, work: Path, rejects: RejectsWriter, progress: Progress | None, *, preference: bool = False
    ) -> None:
        self.recipe = recipe
        self.work = work
        self.rejects = rejects
        self.progress = progress
        self.exact = ExactDedup() if recipe.dedup.exact else None
        self.near = NearDedup(recipe.dedup.near_threshold) if recipe.dedup.near else None
        self.preference = preference
        self.structure = carrier_problem if preference else turn_structure
        self.checks = spec_checks(recipe.filters)
        self.ids: set[str] = set()

    def check(self, conv: Conversation) -> str | None:
        """The first structure or filter failure of ``conv`` (a pair's filters see :func:`filter_view`)."""
        reason = self.structure(conv)
        if reason is None and self.checks:
            reason = first_failure(filter_view(conv) if self.preference else conv, self.checks)
        return reason

    def reject(self, source: _Source, reason: str, conv: Conversation | None = None, key: str | None = None) -> None:
        source.report.rejected[key or reason] += 1
        record = carrier_to_dict(conv) if conv is not None else None
        self.rejects(Reject(reason, record_id=conv.id if conv else None, record=record, source=source.report.label))

    def load(self, source: _Source) -> Iterator[Conversation]:
        """The source's conversations that pass structure and filters (builder rejects recorded)."""
        report = source.report
        stats = LoadStats()

        def builder_reject(item: Reject) -> None:
            report.rejected[INVALID] += 1
            self.rejects(dataclasses.replace(item, source=report.label))

        for conv in source.builder.load(source.spec.source, source.spec.options, on_reject=builder_reject, stats=stats):
            report.loaded += 1
            if self.progress and report.loaded % 1000 == 0:
                self.progress(report.label, report.loaded)
            reason = self.check(conv)
            if reason is not None:
                self.reject(source, reason, conv)
                continue
            yield conv
        report.rows = stats.rows
        if self.progress:
            self.progress(report.label, report.loaded)

    def capped(self, source: _Source, convs: Iterable[Conversation]) -> Iterable[Conversation]:
        """At most ``max`` conversations: those with the smallest seeded id hash, in input order."""
        limit = source.spec.max
        if limit is None:
            return convs
        heap: list[tuple[int, int, Conversation]] = []  # max-heap on the hash, by negation
        for position, conv in enumerate(convs):
            entry = (-id_hash(conv.id, self.recipe.seed), position, conv)
            if len(heap) < limit:
                heapq.heappush(heap, entry)
                continue
            dropped = heapq.heappushpop(heap, entry) if limit else entry
            self.reject(source, f"cap: source {source.report.label} limited to {limit}", dropped[2], key="cap")
        return [conv for _, _, conv in sorted(heap, key=lambda e: e[1])]

    def free_id(self, wanted: str, label: str) -> str:
        """``wanted`` if no kept conversation has it yet, else ``wanted@label`` (then ``-2``, ``-3``...)."""
        if wanted not in self.ids:
            return wanted
        candidate, n = f"{wanted}@{label}", 1
        while candidate in self.ids:
            n += 1
            candidate = f"{wanted}@{label}-{n}"
        return candidate

    def unique(self, source: _Source, conv: Conversation) -> tuple[Conversation, int] | None:
        """``conv`` with a build-wide unique id and how many copies of it the source weight writes, or
        ``None`` if it duplicates a kept conversation or the weight samples it out (both rejected).

        The weight is decided before near dedup and before the conversation is remembered, so a
        conversation that is not written never makes a later one a duplicate.
        """
        new_id = self.free_id(conv.id, source.report.label)
        if new_id != conv.id:  # e.g. an original and its translation kept the same id
            conv = dataclasses.replace(conv, id=new_id, meta={**conv.meta, "original_id": conv.id})
        if self.exact is not None and (first := self.exact.duplicate_of(conv, remember=False)) is not None:
            self.reject(source, f"duplicate: same text as {first}", conv, key="duplicate")
            return None
        weight = source.spec.weight
        n = copies(conv.id, weight, self.recipe.seed)
        if n == 0:  # a weight below 1 keeps a seeded sample; the rest is rejected like any other drop
            self.reject(source, f"sampled out by weight {weight:g}", conv, key="weight")
            return None
        if self.near is not None and (near := self.near.duplicate_of(conv)) is not None:
            self.reject(source, f"near-duplicate: {near[1]:.2f} similar to {near[0]}", conv, key="near-duplicate")
            return None
        if self.exact is not None:
            self.exact.remember(conv)
        self.ids.add(conv.id)
        return conv, n

    def written(
        self, source: _Source, conv: Conversation, n: int, group: str
    ) -> Iterator[tuple[str, int, Conversation]]:
        """(split, shuffle key, conversation) for each of the ``n`` copies the source weight asks for.

        The split follows ``group`` (:func:`split_key`), so related conversations share a split; the
        shuffle follows the conversation's own id.
        """
        key = id_hash(conv.id)
        group_key = key if group == conv.id else id_hash(group)  # most conversations are their own group
        split = "validation" if in_validation(group_key, self.recipe.validation) else "train"
        for k in range(n):
            copy = conv
            if k:
                copy = dataclasses.replace(conv, id=self.free_id(f"{conv.id}#{k + 1}", source.report.label))
                self.ids.add(copy.id)
            yield split, shuffle_key(key + k, self.recipe.seed), copy


def build_dataset(
    recipe: Recipe,
    out_dir: str | Path,
    *,
    commercial: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Build ``recipe`` into ``out_dir`` (train.jsonl, validation.jsonl, rejects.jsonl, README.md)."""
    from ru_llm.dataset.card import dataset_card

    out_dir = Path(out_dir)
    check_output_dir(out_dir, overwrite=overwrite, inputs=[s.source for s in recipe.sources if s.source])
    sources = [_resolve(spec) for spec in recipe.sources]  # every builder and option checked before any work
    check_kinds(s.report for s in sources)
    if commercial or recipe.commercial:
        check_commercial(s.report for s in sources)
    report = BuildReport(out_dir, [s.report for s in sources], recipe)
    with atomic_directory(out_dir, command="dataset build") as work:
        with RejectsWriter(work / "rejects.jsonl") as rejects:
            run = _Builder(recipe, work, rejects, progress, preference=report.kind == "preference")
            _write_splits(run, sources, work)
        report.reject_reasons = rejects.reasons
        if commercial or recipe.commercial:  # a record an earlier stage stamped false, in a cleared source
            check_commercial(report.sources)
        (work / "README.md").write_text(dataset_card(report), encoding="utf-8")
        (work / "stats.json").write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    return report


def _write_splits(run: _Builder, sources: list[_Source], work: Path) -> None:
    buffers = {split: ShuffleBuffer(work) for split in ("train", "validation")} if run.recipe.shuffle else {}
    writers = {split: JsonlWriter(work / f"{split}.jsonl") for split in ("train", "validation")}
    try:
        for writer in writers.values():
            writer.__enter__()
        for source in sources:
            for conv in run.capped(source, run.load(source)):
                unique = run.unique(source, conv)
                if unique is None:
                    continue
                kept, n = unique
                source.report.kept += 1
                source.report.uncleared += kept.commercial is not True
                source.report.languages[kept.lang or "unknown"] += 1
                # The group comes from the conversation as loaded: a clash renaming its id does not move it.
                for split, key, copy in run.written(source, kept, n, split_key(conv)):
                    setattr(source.report, split, getattr(source.report, split) + 1)
                    line = to_json_line(carrier_to_dict(copy) if run.preference else copy)
                    if buffers:
                        buffers[split].add(key, line)
                    else:
                        writers[split].write_line(line)
        for split, buffer in buffers.items():
            for line in buffer:
                writers[split].write_line(line)
    except BaseException as error:
        for buffer in buffers.values():
            buffer.discard()
        for writer in writers.values():
            writer.__exit__(type(error), error, error.__traceback__)
        raise
    for writer in writers.values():
        writer.__exit__(None, None, None)
