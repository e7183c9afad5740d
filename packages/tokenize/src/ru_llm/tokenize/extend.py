"""One entry point for vocabulary extension, whatever the base: the CLI and the benchmark both use it.

A base with a ``tokenizer.model`` (and no byte-level ``tokenizer.json``) gets new SentencePiece pieces
(:mod:`ru_llm.tokenize.spm_extend`); a byte-level BPE ``tokenizer.json`` gets new merges
(:mod:`ru_llm.tokenize.bpe_extend`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.bpe_extend import ExtendReport

# More new tokens than this is a typo: the learners would try to allocate it and die without a message.
MAX_NEW_TOKENS = 1 << 20


def check_new_tokens(new_tokens: int) -> None:
    """One-line errors for an ``--add`` below 1 or absurdly large."""
    if not 1 <= new_tokens <= MAX_NEW_TOKENS:
        raise RuLLMError(
            f"--add {new_tokens}: must be between 1 and {MAX_NEW_TOKENS:,}",
            hint="pass the number of new tokens to learn, e.g. --add 48000",
        )


def check_base(base_dir: str | Path) -> Callable[..., ExtendReport]:
    """Check the base before any corpus is read (one-line errors) and return the function that extends it."""
    from ru_llm.tokenize.bpe_extend import extend_byte_level_bpe, read_tokenizer_json
    from ru_llm.tokenize.loading import check_base_tokenizer
    from ru_llm.tokenize.spm_extend import extend_sentencepiece_bpe, read_sentencepiece_bpe, uses_sentencepiece

    if uses_sentencepiece(base_dir):
        read_sentencepiece_bpe(base_dir)
        extend = extend_sentencepiece_bpe
    else:
        read_tokenizer_json(base_dir)
        extend = extend_byte_level_bpe
    check_base_tokenizer(base_dir)  # the kind is right; now it must load as the model will load it
    return extend


def extend_tokenizer(
    base_dir: str | Path,
    texts: Iterable[tuple[str, float]],
    new_tokens: int,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    on_text: Callable[[], None] | None = None,
) -> ExtendReport:
    """Add ``new_tokens`` Russian tokens to the base tokenizer in ``base_dir`` and write it to ``out_dir``."""
    check_new_tokens(new_tokens)
    extend = check_base(base_dir)
    return extend(base_dir, texts, new_tokens, out_dir, overwrite=overwrite, on_text=on_text)
