"""Corpus specs (``wordfreq:ru``, text files, directories of them) as a stream of weighted texts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ru_llm.core.deps import require_datasets
from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.stats import read_text_chunks

WORDFREQ_PREFIX = "wordfreq:"
# wordfreq gives each word its share of running text; as counts they stand for a corpus of this many words.
WORDFREQ_WORDS = 100_000_000
# Frequencies are flattened (f ** 0.8, renormalised) before counting: new text is full of words rarer than
# the word list's head (names, terms), and their pieces matter more than a third form of "и". Measured on
# the UD GSD dev text with Qwen2.5 + 48,000 tokens: 4.111 -> 4.131 characters per token (0.6: 4.096).
WORDFREQ_EXPONENT = 0.8
# wordfreq's words are lower-case. Running text has them after a space, capitalised after a space (names),
# capitalised with nothing before (line and sentence starts, after "«" or "(") and lower-case with nothing
# before (after "(" or a hyphen); each form gets this share of the word's weight.
WORDFREQ_FORMS = ((" {lower}", 0.70), (" {title}", 0.15), ("{title}", 0.10), ("{lower}", 0.05))

HF_PREFIX = "hf:"
# The options an ``hf:`` corpus takes after ``?``, and their defaults.
HF_OPTIONS = {"config": None, "split": "train", "column": "text", "limit": None}

CORPUS_HINT = (
    "a corpus is wordfreq:ru, a UTF-8 text file, a directory of *.txt files or hf:DATASET[?split=S&column=C]; "
    "append @WEIGHT to scale one corpus against the others (e.g. train.txt@10)"
)


@dataclass(frozen=True)
class CorpusSpec:
    """One ``--corpus`` value: ``wordfreq:LANG``, ``hf:DATASET?...`` or a path, with a weight for every text."""

    source: str
    weight: float = 1.0

    @classmethod
    def parse(cls, spec: str) -> CorpusSpec:
        """``wordfreq:ru``, ``PATH`` or either with ``@WEIGHT`` appended."""
        text = spec.strip()
        source, weight = text, 1.0
        head, sep, tail = text.rpartition("@")
        if sep and head and not Path(text).exists():
            try:
                weight = float(tail)
            except ValueError:
                pass
            else:
                source = head
        if not source:
            raise RuLLMError(f"corpus {spec!r}: empty", hint=CORPUS_HINT)
        if not (math.isfinite(weight) and weight > 0):
            raise RuLLMError(f"corpus {spec!r}: the weight must be a positive number", hint=CORPUS_HINT)
        return cls(source, weight)

    @property
    def is_wordfreq(self) -> bool:
        return self.source.startswith(WORDFREQ_PREFIX)

    @property
    def is_hf(self) -> bool:
        return self.source.startswith(HF_PREFIX)

    def check(self) -> None:
        """Fail before any long work on a spec that cannot be read (the full read checks the rest)."""
        if self.is_wordfreq:
            _wordfreq_words(self.source)
            return
        if self.is_hf:
            hf_options(self.source)
            return
        from ru_llm.tokenize.stats import check_text_file

        for path in corpus_files(self.source):
            check_text_file(path)


def corpus_files(source: str | Path) -> list[Path]:
    """A file itself, or the ``*.txt`` files of a directory (sorted); a one-line error when there are none."""
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise RuLLMError(f"corpus {source}: the directory has no *.txt files", hint=CORPUS_HINT)
        return files
    if not path.exists():
        raise RuLLMError(f"corpus {source}: no such file or directory", hint=CORPUS_HINT)
    return [path]


def _wordfreq_words(source: str) -> dict[str, float]:
    lang = source[len(WORDFREQ_PREFIX) :]
    try:
        import wordfreq
    except ImportError as error:  # pragma: no cover - a dependency of this package
        raise RuLLMError(f"corpus {source}: the wordfreq package is missing", hint="pip install wordfreq") from error
    if lang not in wordfreq.available_languages("best"):
        raise RuLLMError(
            f"corpus {source}: wordfreq has no word list for language {lang!r}",
            hint=f"languages: {', '.join(sorted(wordfreq.available_languages('best')))}",
        )
    return wordfreq.get_frequency_dict(lang, "best")


def wordfreq_texts(source: str, weight: float = 1.0) -> Iterator[tuple[str, float]]:
    """Each word of a wordfreq list in the forms running text has it in (see ``WORDFREQ_FORMS``), weighted.

    The weights of one list add up to ``WORDFREQ_WORDS * weight``, whatever ``WORDFREQ_EXPONENT``.
    """
    words = _wordfreq_words(source)
    flattened = {word: frequency**WORDFREQ_EXPONENT for word, frequency in words.items()}
    scale = WORDFREQ_WORDS * weight / (sum(flattened.values()) or 1.0)
    # Each form as (text before the word, title case?, share): concatenation, not str.format, for 700k words.
    templates = [(form.split("{")[0], "{title}" in form, share) for form, share in WORDFREQ_FORMS]
    for word, frequency in flattened.items():
        count = frequency * scale
        title = word[:1].upper() + word[1:]
        if title == word:  # uncased words (digits, CJK): the lower and title forms coincide
            forms: dict[str, float] = {}
            for before, _, share in templates:
                forms[before + word] = forms.get(before + word, 0.0) + count * share
            yield from forms.items()
        else:
            for before, titled, share in templates:
                yield before + (title if titled else word), count * share


def hf_options(source: str) -> tuple[str, dict[str, str | None]]:
    """``hf:DATASET?config=C&split=S&column=C&limit=N`` as the dataset id (or local dir) and its options."""
    from urllib.parse import parse_qsl

    dataset, _, query = source[len(HF_PREFIX) :].partition("?")
    if not dataset:
        raise RuLLMError(f"corpus {source}: no dataset named", hint=CORPUS_HINT)
    options: dict[str, str | None] = dict(HF_OPTIONS)
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in HF_OPTIONS:
            raise RuLLMError(
                f"corpus {source}: unknown option {key!r}", hint=f"hf: corpora take {', '.join(HF_OPTIONS)}"
            )
        options[key] = value
    if options["limit"] is not None and not (options["limit"].isdigit() and int(options["limit"]) > 0):
        raise RuLLMError(
            f"corpus {source}: limit={options['limit']} is not a positive number of rows", hint=CORPUS_HINT
        )
    require_datasets(f"corpus {source}", package="ru-llm-tokenize", extra="datasets")
    return dataset, options


def hf_texts(source: str, weight: float = 1.0) -> Iterator[tuple[str, float]]:
    """The ``column`` of a Hugging Face dataset (hub id or local directory), streamed row by row, each text
    with ``weight``; ``limit`` stops after that many rows."""
    from datasets import load_dataset

    dataset, options = hf_options(source)
    try:
        rows = load_dataset(dataset, options["config"], split=options["split"], streaming=True)
        column = options["column"]
        limit = int(options["limit"]) if options["limit"] else None
        for i, row in enumerate(rows):
            if limit is not None and i >= limit:
                break
            if column not in row:
                raise RuLLMError(
                    f"corpus {source}: row {i} has no column {column!r} (columns: {', '.join(row)})",
                    hint="pass ?column=NAME with the text column",
                )
            text = row[column]
            if isinstance(text, str) and text:
                yield text, weight
    except RuLLMError:
        raise
    except Exception as error:  # offline, no such dataset or split, unreadable files: one line for the user
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RuLLMError(f"corpus {source}: the dataset could not be read ({reason})", hint=CORPUS_HINT) from error


def file_texts(source: str | Path, weight: float = 1.0) -> Iterator[tuple[str, float]]:
    """A text file (or a directory's ``*.txt`` files) in chunks that end at line ends, each with ``weight``."""
    for path in corpus_files(source):
        for chunk in read_text_chunks(path):
            yield chunk, weight


def weighted_texts(specs: list[str] | list[CorpusSpec]) -> Iterator[tuple[str, float]]:
    """All texts of all corpora in order, as ``(text, weight)``; a text's weight counts each of its words.

    Every spec is checked before the first text is yielded, so a typo fails fast.
    """
    parsed = [s if isinstance(s, CorpusSpec) else CorpusSpec.parse(s) for s in specs]
    if not parsed:
        raise RuLLMError("no corpus given", hint=CORPUS_HINT)
    for spec in parsed:
        spec.check()
    for spec in parsed:
        if spec.is_wordfreq:
            yield from wordfreq_texts(spec.source, spec.weight)
        elif spec.is_hf:
            yield from hf_texts(spec.source, spec.weight)
        else:
            yield from file_texts(spec.source, spec.weight)
