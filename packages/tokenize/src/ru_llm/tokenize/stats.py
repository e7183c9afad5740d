"""Tokenizer efficiency: characters per token and tokens per word, streamed over text files of any size."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ru_llm.core.errors import RuLLMError

WORD = re.compile(r"\w+")
CHUNK_BYTES = 1 << 20
# Texts are handed to the tokenizer in batches of about this many characters: a fast tokenizer
# encodes a batch on all cores, and memory stays bounded whatever the file size.
BATCH_CHARS = 4 << 20

TEXT_HINT = "pass a UTF-8 text file with some text in it"


def count_words(text: str) -> int:
    """Words are runs of ``\\w`` characters (letters, digits, underscore, in any script)."""
    return len(WORD.findall(text))


# The Cyrillic block: Russian letters (and other Cyrillic-script languages').
CYRILLIC = re.compile("[\u0400-\u04ff]")


def count_cyrillic(text: str) -> int:
    """Characters of the Cyrillic block (U+0400–U+04FF) in ``text``."""
    return len(CYRILLIC.findall(text))


def _count_tokens(tokenizer: Any, batch: list[str]) -> tuple[int, int | None]:
    """Tokens in ``batch``, and how many of them cover a Cyrillic character (by their offsets; ``None`` for a
    slow tokenizer, which has none)."""
    # A fast transformers tokenizer's Rust backend, or a bare ``tokenizers.Tokenizer``: skipping the
    # conversion to Python lists is about twice as fast.
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    encode = getattr(backend, "encode_batch", None)
    if encode is not None and not hasattr(backend, "batch_decode"):
        tokens = cyrillic = 0
        for text, encoding in zip(batch, encode(batch, add_special_tokens=False), strict=True):
            tokens += len(encoding.ids)
            cyrillic += sum(1 for start, end in encoding.offsets if CYRILLIC.search(text, start, end))
        return tokens, cyrillic
    encoded = tokenizer(
        batch,
        add_special_tokens=False,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,  # no "sequence length is longer than the maximum" warning: we only count
    )
    # A pure-Python tokenizer has no offsets to tell which tokens cover Cyrillic: that count is unknown.
    return sum(len(ids) for ids in encoded["input_ids"]), None


def efficiency(
    tokens: int, characters: int, words: int, cyrillic_characters: int = 0, cyrillic_tokens: int | None = 0
) -> dict[str, Any]:
    """The counts plus their ratios (``None`` where the divisor is 0).

    ``cyrillic_chars_per_token`` is the Russian part alone: Cyrillic letters per token covering one. Digits,
    Latin and punctuation, which a Russian vocabulary leaves as they were, do not dilute it. It needs a fast
    tokenizer (token offsets): with a slow one ``cyrillic_tokens`` and the ratio are ``None``.
    """
    return {
        "tokens": tokens,
        "characters": characters,
        "words": words,
        "chars_per_token": characters / tokens if tokens else None,
        "tokens_per_word": tokens / words if words else None,
        "cyrillic_characters": cyrillic_characters,
        "cyrillic_tokens": cyrillic_tokens,
        "cyrillic_chars_per_token": cyrillic_characters / cyrillic_tokens if cyrillic_tokens else None,
    }


def tokenizer_stats(tokenizer: Any, texts: str | Iterable[str], *, batch_chars: int = BATCH_CHARS) -> dict[str, Any]:
    """Count tokens (without special tokens), characters and words over ``texts``.

    :param tokenizer: a transformers tokenizer, or a bare ``tokenizers.Tokenizer``.
    :param texts: one string, or an iterable of documents or chunks (consumed once, lazily). Each is
        encoded on its own, so a chunk boundary inside a word may cost a token: cut at line ends.
    :returns: see :func:`efficiency`.
    """
    if isinstance(texts, str):
        texts = [texts]
    tokens = characters = words = cyrillic_characters = 0
    cyrillic_tokens: int | None = 0
    batch: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal tokens, cyrillic_tokens, batch, size
        counted, cyrillic = _count_tokens(tokenizer, batch)
        tokens += counted
        cyrillic_tokens = None if cyrillic is None or cyrillic_tokens is None else cyrillic_tokens + cyrillic
        batch, size = [], 0

    for text in texts:
        if not text:
            continue
        characters += len(text)
        words += count_words(text)
        cyrillic_characters += count_cyrillic(text)
        batch.append(text)
        size += len(text)
        if size >= batch_chars:
            flush()
    if batch:
        flush()
    return efficiency(tokens, characters, words, cyrillic_characters, cyrillic_tokens)


def _cut(text: str) -> int:
    """Where to end a chunk: after the last newline, else after the last space, else nowhere (0)."""
    return text.rfind("\n") + 1 or text.rfind(" ") + 1


def read_text_chunks(
    path: str | Path, *, chunk_bytes: int = CHUNK_BYTES, on_bytes: Callable[[int], None] | None = None
) -> Iterator[str]:
    """Yield a UTF-8 text file in chunks of about ``chunk_bytes`` bytes, each ending at a line end.

    A binary or non-UTF-8 file, or one with nothing but whitespace, raises :class:`RuLLMError` naming
    it (possibly after some chunks were yielded). ``on_bytes(n)`` is called as bytes are read.
    """
    path = Path(path)
    if not path.is_file():
        raise RuLLMError(f"text {path}: {'is a directory' if path.is_dir() else 'no such file'}", hint=TEXT_HINT)
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    pending = ""
    has_text = False
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk_bytes)
            nul = block.find(b"\0")
            if nul >= 0:
                raise RuLLMError(f"text {path}: looks binary (a NUL byte at byte {offset + nul})", hint=TEXT_HINT)
            buffered = len(decoder.getstate()[0])
            try:
                decoded = decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                raise RuLLMError(
                    f"text {path}: not UTF-8 (an invalid byte at byte {offset - buffered + error.start})",
                    hint=f"{TEXT_HINT}; convert it first, e.g. iconv -f cp1251 -t utf-8",
                ) from error
            if offset == 0 and decoded.startswith("\ufeff"):
                decoded = decoded[1:]  # a byte-order mark is not text
            offset += len(block)
            if on_bytes is not None and block:
                on_bytes(len(block))
            pending += decoded
            if not block:
                break
            cut = _cut(pending)
            if cut == 0 and len(pending) < 4 * chunk_bytes:
                continue  # no line end yet: keep reading, within limits
            chunk, pending = (pending[:cut], pending[cut:]) if cut else (pending, "")
            has_text = has_text or not chunk.isspace()
            yield chunk
    if pending:
        has_text = has_text or not pending.isspace()
        yield pending
    if not has_text:
        raise RuLLMError(f"text {path}: is empty (no text besides whitespace)", hint=TEXT_HINT)


def check_text_file(path: str | Path, *, head_bytes: int = 1 << 16) -> None:
    """Fail fast on a missing, empty or binary file by reading only its head (the full read checks the rest)."""
    chunks = read_text_chunks(path, chunk_bytes=head_bytes)
    for chunk in chunks:
        if not chunk.isspace():
            chunks.close()
            return


def text_file_stats(
    tokenizer: Any, path: str | Path, *, on_bytes: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """:func:`tokenizer_stats` over one UTF-8 text file, streamed in chunks."""
    return tokenizer_stats(tokenizer, read_text_chunks(path, on_bytes=on_bytes))
