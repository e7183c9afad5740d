"""A run's training and validation sets as the trainer sees them: encoded, optionally packed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from ru_llm.core.errors import ConfigError
from ru_llm.core.families import ModelFamily
from ru_llm.core.jsonl import Reject
from ru_llm.core.labels import IGNORE_INDEX
from ru_llm.train.config import RunConfig
from ru_llm.train.data.encode import ConversationEncoder, EncodeStats, Sample, encode_all, reason_key
from ru_llm.train.data.packing import Pack, pack_samples
from ru_llm.train.data.run_template import resolve_run_template
from ru_llm.train.data.sources import DataSource, SourceCounter, open_data


class ListDataset:
    """A map-style dataset over samples or packs (what ``torch.utils.data.DataLoader`` needs)."""

    def __init__(self, items: list[Sample] | list[Pack]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Sample | Pack:
        return self.items[index]


@dataclass
class PreparedData:
    train: Any  # a ListDataset; a datasets.Dataset of token ids for preference pairs (what TRL expects)
    validation: Any | None
    stats: EncodeStats
    sources: list[DataSource]
    description: str
    template_name: str
    packed: bool
    files: list[Path] = field(default_factory=list)
    #: the loss is a language-model loss (cross-entropy on tokens): the run reports perplexity
    language_model_loss: bool = True


class _CountUnreadable:
    """Rejects of records the reader refused: they count as training records in while the training set is
    read (records in = used + rejected), and only go to the rejects file while the validation set is."""

    def __init__(self, stats: EncodeStats, on_reject: Callable[[Reject], object]) -> None:
        self.stats, self.on_reject, self.training = stats, on_reject, True

    def __call__(self, reject: Reject) -> None:
        if self.training:
            self.stats.records += 1
            self.stats.rejected[reason_key(reject.reason)] += 1
        self.on_reject(reject)


def require_data(config: RunConfig) -> str:
    """``config.data``; its absence is a one-line error."""
    if config.data is None:
        raise ConfigError("'data' is required: a `ru-llm dataset build` directory, a JSONL file or a dataset id")
    return config.data


def prepare_conversations(
    config: RunConfig, family: ModelFamily, tokenizer: Any, on_reject: Callable[[Reject], object], console: Any
) -> PreparedData:
    """Conversations through the run's template, encoded (and packed); none usable is an error."""
    source = require_data(config)
    template = resolve_run_template(config, family, tokenizer)
    encoder = ConversationEncoder(template, tokenizer, max_length=config.max_length, train_on=config.train_on)
    stats = EncodeStats()

    unreadable = _CountUnreadable(stats, on_reject)
    data = open_data(source, on_reject=unreadable, validation_data=config.validation_data)
    seen = SourceCounter()
    convs = seen.watch(islice(data.train(), config.max_samples))  # only what is trained counts for the card
    samples = _encode_with_progress(convs, encoder, on_reject, stats, None, console, "encoding training data")
    data.sources = seen.sources()  # the records' own stamps: source, licence, commercial
    if not samples:
        reasons = ", ".join(f"{r} ({n})" for r, n in stats.rejected.most_common(3)) or "the data is empty"
        raise ConfigError(
            f"data: no usable training conversation in {data.description} ({stats.records} read; {reasons})",
            hint="see the reasons above; check the template, max_length and the data",
        )
    validation = None
    if data.validation is not None:
        unreadable.training = False
        vstats = EncodeStats()
        vsamples = _encode_with_progress(
            data.validation(), encoder, on_reject, vstats, None, console, "encoding validation"
        )
        validation = vsamples or None
    _print_summary(console, stats, data.description)
    train_items: list[Any] = samples
    validation_items: list[Any] | None = validation
    if config.packing:
        train_items = pack_samples(samples, config.max_length)
        validation_items = pack_samples(validation, config.max_length) if validation else None
    return PreparedData(
        ListDataset(train_items),
        ListDataset(validation_items) if validation_items else None,
        stats,
        data.sources,
        data.description,
        template.name,
        config.packing,
        data.files,
    )


def prepare_preferences(
    config: RunConfig, family: ModelFamily, tokenizer: Any, on_reject: Callable[[Reject], object], console: Any
) -> PreparedData:
    """Chosen/rejected pairs through the run's template, as a ``datasets.Dataset`` of token ids."""
    import datasets

    from ru_llm.train.data.preference import encode_pairs

    source = require_data(config)
    template = resolve_run_template(config, family, tokenizer)
    stats = EncodeStats()

    unreadable = _CountUnreadable(stats, on_reject)
    data = open_data(source, on_reject=unreadable, validation_data=config.validation_data, preferences=True)
    seen = SourceCounter()
    options = {"max_length": config.max_length, "max_prompt_length": config.dpo.max_prompt_length}
    with _spinner(console, "encoding preference pairs") as advance:
        rows = encode_pairs(
            seen.watch(islice(data.train(), config.max_samples)), template, tokenizer, on_reject=on_reject,
            stats=stats, progress=advance, **options,
        )  # fmt: skip
    data.sources = seen.sources()  # the records' own stamps: source, licence, commercial
    if not rows:
        reasons = ", ".join(f"{r} ({n})" for r, n in stats.rejected.most_common(3)) or "the data is empty"
        raise ConfigError(
            f"data: no usable preference pair in {data.description} ({stats.records} read; {reasons})",
            hint="each record needs messages ending on a user turn plus different chosen and rejected replies",
        )
    validation = None
    if data.validation is not None:
        unreadable.training = False
        vrows = encode_pairs(
            data.validation(), template, tokenizer, on_reject=on_reject, stats=EncodeStats(), **options
        )
        validation = datasets.Dataset.from_list(vrows) if vrows else None
    _print_summary(console, stats, data.description, unit="pairs")
    return PreparedData(
        datasets.Dataset.from_list(rows), validation, stats, data.sources, data.description, template.name, False,
        data.files, language_model_loss=False,
    )  # fmt: skip


class _spinner:
    """A transient spinner counting records (nothing without a console); yields an ``advance(n)``."""

    def __init__(self, console: Any, label: str) -> None:
        self.console, self.label, self.bar = console, label, None

    def __enter__(self) -> Callable[[int], None] | None:
        if self.console is None:
            return None
        from rich.progress import Progress, SpinnerColumn, TextColumn

        self.bar = Progress(
            SpinnerColumn(), TextColumn(f"{self.label}: {{task.completed}}"), console=self.console, transient=True
        )
        self.bar.start()
        task = self.bar.add_task(self.label, total=None)
        return lambda n: self.bar.advance(task, n)  # type: ignore[union-attr]

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _encode_with_progress(convs, encoder, on_reject, stats, limit, console, label) -> list[Sample]:  # type: ignore[no-untyped-def]
    from rich.progress import Progress, SpinnerColumn, TextColumn

    if console is None:
        return encode_all(convs, encoder, on_reject=on_reject, stats=stats, limit=limit)
    with Progress(
        SpinnerColumn(), TextColumn(f"{label}: {{task.completed}} conversations"), console=console, transient=True
    ) as bar:
        task = bar.add_task(label, total=None)
        return encode_all(
            convs, encoder, on_reject=on_reject, stats=stats, limit=limit, progress=lambda n: bar.advance(task, n)
        )


def _print_summary(console: Any, stats: EncodeStats, description: str, unit: str = "conversations") -> None:
    if console is None:
        return
    from rich.table import Table

    table = Table(title=f"training data: {description} ({unit})", show_header=True)
    table.add_column("records")
    table.add_column("count", justify="right")
    table.add_row("read", str(stats.records))
    table.add_row("used", str(stats.used))
    shortened = "replies cut to max_length" if unit == "pairs" else "shortened by whole turns"
    table.add_row(shortened, str(stats.truncated))
    for reason, n in stats.rejected.most_common():
        table.add_row(f"rejected: {reason}", str(n))
    table.add_row("tokens (trained)", f"{stats.tokens:,} ({stats.trained_tokens:,})")
    console.print(table)
    from ru_llm.core.summary import drop_warning

    knobs = {
        "too long": "raise max_length, or shorten the data",
        "nothing to train": "check train_on and the template",
        "": "see the reasons above",
    }
    warning = drop_warning(unit, stats.records, stats.rejected, knobs, rejects="rejects.jsonl in the output")
    if warning:
        console.print(f"[yellow]{warning}[/]", soft_wrap=True)  # one line, greppable in logs


def _corpus_source(corpus: Any, documents: int) -> DataSource:
    """A cpt corpus as a source: raw text carries no stamp, so the corpus config's ``commercial`` is it."""
    from ru_llm.train.data.text import corpus_name

    stamp = corpus.commercial
    return DataSource(
        corpus_name(corpus), corpus.license or "unknown", stamp is True, documents,
        unstamped=documents if stamp is None else 0, not_cleared=documents if stamp is False else 0, corpus=True,
    )  # fmt: skip


def prepare_text(config: RunConfig, tokenizer: Any, console: Any) -> PreparedData:
    """The ``cpt.corpora`` mixed by weight, cut into blocks of ``max_length`` tokens."""
    from ru_llm.train.data.text import check_corpus, corpus_name, mixed_documents, text_blocks

    for corpus in config.cpt.corpora:
        check_corpus(corpus)
    counts: Counter[str] = Counter()
    documents = mixed_documents(config.cpt.corpora, seed=config.seed, limit=config.cpt.max_documents, counts=counts)
    blocks = text_blocks(documents, tokenizer, block_size=config.max_length)
    if config.max_samples is not None:
        blocks = blocks[: config.max_samples]
    if not blocks:
        raise ConfigError(
            f"cpt: the corpora hold fewer than max_length ({config.max_length}) tokens",
            hint="add text or lower max_length",
        )
    stats = EncodeStats(records=sum(counts.values()), used=sum(counts.values()))
    stats.tokens = stats.trained_tokens = len(blocks) * config.max_length
    sources = [_corpus_source(c, counts[corpus_name(c)]) for c in config.cpt.corpora]
    if console is not None:
        shares = ", ".join(f"{name} {n}" for name, n in counts.items())
        console.print(
            f"cpt: {stats.records} documents ({shares}) -> {len(blocks)} blocks of {config.max_length} tokens"
        )
    files = [Path(c.path).expanduser() for c in config.cpt.corpora if not c.path.startswith("hf:")]
    return PreparedData(ListDataset(blocks), None, stats, sources, "cpt corpora", "none (raw text)", False, files)


# -- previews: the first samples as the trainer sees them (``ru-llm train preview``) -----------------
def preview_conversations(
    config: RunConfig, family: ModelFamily, tokenizer: Any, count: int, rejects: list[Reject]
) -> list[Sample]:
    """The first ``count`` usable conversations, encoded."""
    template = resolve_run_template(config, family, tokenizer)
    encoder = ConversationEncoder(template, tokenizer, max_length=config.max_length, train_on=config.train_on)
    data = open_data(require_data(config), on_reject=rejects.append)
    samples: list[Sample] = []
    stats = EncodeStats()
    for conv in data.train():
        samples += encode_all([conv], encoder, on_reject=rejects.append, stats=stats)
        if len(samples) >= count:
            break
    return samples


def preview_pairs(
    config: RunConfig, family: ModelFamily, tokenizer: Any, count: int, rejects: list[Reject]
) -> list[Sample]:
    """Each of the first ``count`` usable pairs as two samples, prompt + chosen and prompt + rejected."""
    from ru_llm.train.data.preference import encode_pairs

    template = resolve_run_template(config, family, tokenizer)
    data = open_data(require_data(config), on_reject=rejects.append, preferences=True)
    samples: list[Sample] = []
    for pair in data.train():
        rows = encode_pairs(
            [pair], template, tokenizer, max_length=config.max_length,
            max_prompt_length=config.dpo.max_prompt_length, on_reject=rejects.append, stats=EncodeStats(),
        )  # fmt: skip
        for row in rows:
            prompt = row["prompt_ids"]
            for side in ("chosen", "rejected"):
                reply = row[f"{side}_ids"]
                ids = np.asarray(prompt + reply, dtype=np.int32)
                labels = np.asarray([IGNORE_INDEX] * len(prompt) + reply, dtype=np.int32)
                samples.append(Sample(f"{pair.id} ({side})", ids, labels))
        if len(samples) >= 2 * count:
            break
    return samples


def preview_text(config: RunConfig, tokenizer: Any, count: int) -> list[Sample]:
    """The first ``count`` blocks of the mixed ``cpt.corpora``."""
    from ru_llm.train.data.text import mixed_documents, text_blocks

    docs = mixed_documents(config.cpt.corpora, seed=config.seed, limit=count * 50)
    return text_blocks(docs, tokenizer, block_size=config.max_length)[:count]
