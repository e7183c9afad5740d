"""Raw text for continued pre-training: corpora mixed by weight, documents joined by EOS, cut into blocks.

A corpus is a ``.txt`` file (documents separated by blank lines), a JSONL or Parquet file with a text
column, a directory of such files, or ``hf:DATASET[?split=train&column=text&config=NAME]`` (streamed).
Mixing draws each next document from a corpus chosen with probability proportional to its weight
(seeded), until one corpus runs out, so the shares hold for the whole run.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np

from ru_llm.core.errors import ConfigError, first_line
from ru_llm.train.config import CorpusConfig
from ru_llm.train.data.encode import Sample

_SUFFIXES = (".txt", ".jsonl", ".json", ".parquet")


def corpus_name(corpus: CorpusConfig) -> str:
    return corpus.name or Path(corpus.path.split("?")[0]).name or corpus.path


def check_corpus(corpus: CorpusConfig) -> None:
    """Refuse a missing path before any model is loaded."""
    if corpus.path.startswith("hf:"):
        return
    path = Path(corpus.path).expanduser()
    if not path.exists():
        raise ConfigError(f"cpt.corpora: {corpus.path}: no such file or directory")
    if path.is_file() and not path.name.endswith(_SUFFIXES):
        raise ConfigError(f"cpt.corpora: {corpus.path}: expected a .txt, .jsonl or .parquet file")


def read_documents(corpus: CorpusConfig) -> Iterator[str]:
    """The corpus's documents, streamed."""
    if corpus.path.startswith("hf:"):
        yield from _hf_documents(corpus)
        return
    path = Path(corpus.path).expanduser()
    files = sorted(p for p in path.rglob("*") if p.name.endswith(_SUFFIXES)) if path.is_dir() else [path]
    for file in files:
        yield from _file_documents(file, corpus.column)


def _file_documents(file: Path, column: str) -> Iterator[str]:
    if file.suffix == ".txt":
        block: list[str] = []
        with file.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    block.append(line.rstrip("\n"))
                elif block:
                    yield "\n".join(block)
                    block = []
        if block:
            yield "\n".join(block)
    elif file.suffix in (".jsonl", ".json"):
        with file.open("rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw)
                except ValueError as e:
                    raise ConfigError(f"{file}:{lineno}: not a JSON line ({first_line(e)})") from None
                text = row.get(column) if isinstance(row, dict) else None
                if not isinstance(text, str):
                    raise ConfigError(f"{file}:{lineno}: no text column {column!r}", hint="set the corpus's column")
                if text.strip():
                    yield text
    else:
        import pyarrow.parquet as pq

        table = pq.ParquetFile(file)
        if column not in table.schema.names:
            raise ConfigError(f"{file}: no column {column!r} (columns: {', '.join(table.schema.names)})")
        for batch in table.iter_batches(columns=[column]):
            yield from (t for t in batch.column(0).to_pylist() if isinstance(t, str) and t.strip())


def _hf_documents(corpus: CorpusConfig) -> Iterator[str]:
    from ru_llm.core.deps import require_datasets

    datasets = require_datasets(f"cpt corpus {corpus.path}")
    name, _, query = corpus.path.removeprefix("hf:").partition("?")
    options = dict(parse_qsl(query))
    column = options.pop("column", corpus.column)
    split = options.pop("split", "train")
    config = options.pop("config", None)
    try:
        stream = datasets.load_dataset(name, config, split=split, streaming=True)
        for row in stream:
            text = row.get(column)
            if isinstance(text, str) and text.strip():
                yield text
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"cpt corpus {corpus.path}: {first_line(e)}", hint="offline? use a local file") from None


def mixed_documents(
    corpora: list[CorpusConfig], *, seed: int, limit: int | None = None, counts: Counter[str] | None = None
) -> Iterator[str]:
    """Documents drawn from ``corpora`` in proportion to their weights until one runs out."""
    rng = random.Random(seed)
    streams = [read_documents(c) for c in corpora]
    weights = [c.weight for c in corpora]
    names = [corpus_name(c) for c in corpora]
    produced = 0
    while limit is None or produced < limit:
        i = rng.choices(range(len(streams)), weights=weights)[0]
        document = next(streams[i], None)
        if document is None:
            return
        if counts is not None:
            counts[names[i]] += 1
        produced += 1
        yield document


def text_blocks(documents: Iterator[str], tokenizer: object, *, block_size: int) -> list[Sample]:
    """Documents tokenized, each followed by EOS, concatenated and cut into ``block_size`` blocks.

    The last partial block is dropped (as in the usual causal-LM recipe); every token is trained.
    """
    eos = getattr(tokenizer, "eos_token_id", None)
    if eos is None:
        raise ConfigError("the tokenizer has no EOS token to separate documents")
    bos = getattr(tokenizer, "bos_token_id", None)
    buffer: list[int] = []
    blocks: list[Sample] = []
    for document in documents:
        ids = tokenizer(document, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
        if bos is not None and bos != eos:
            buffer.append(bos)
        buffer.extend(ids)
        buffer.append(eos)
        while len(buffer) >= block_size:
            block = np.asarray(buffer[:block_size], dtype=np.int32)
            blocks.append(Sample(f"block-{len(blocks)}", block, block.copy()))
            del buffer[:block_size]
    return blocks
