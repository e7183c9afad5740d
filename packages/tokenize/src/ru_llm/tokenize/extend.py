"""One entry point for vocabulary extension, whatever the base: the CLI and the benchmark both use it.

A base with a ``tokenizer.model`` (and no byte-level ``tokenizer.json``) gets new SentencePiece pieces
(:mod:`ru_llm.tokenize.sentencepiece.extend`); a byte-level BPE ``tokenizer.json`` gets new merges
(:mod:`ru_llm.tokenize.bpe.extend`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from ru_llm.tokenize.bpe.extend import ExtendReport


def check_base(base_dir: str | Path) -> Callable[..., ExtendReport]:
    """Check the base before any corpus is read (one-line errors) and return the function that extends it.

    The returned function reuses the base tokenizer loaded here for its final check (a 150k-token base
    takes a second to load).
    """
    from functools import partial

    from ru_llm.tokenize.bpe.extend import extend_byte_level_bpe, read_tokenizer_json
    from ru_llm.tokenize.loading import check_base_tokenizer
    from ru_llm.tokenize.sentencepiece import extend as spm_extend

    if spm_extend.uses_sentencepiece(base_dir):
        spm_extend.read_sentencepiece_bpe(base_dir)
        extend = spm_extend.extend_sentencepiece_bpe
    else:
        read_tokenizer_json(base_dir)
        extend = extend_byte_level_bpe
    base_tokenizer = check_base_tokenizer(base_dir)  # the kind is right; now it must load as the model will
    return partial(extend, base_tokenizer=base_tokenizer)


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
    extend = check_base(base_dir)  # the extender checks new_tokens
    return extend(base_dir, texts, new_tokens, out_dir, overwrite=overwrite, on_text=on_text)
