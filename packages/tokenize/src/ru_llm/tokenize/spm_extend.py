"""Extend a SentencePiece BPE tokenizer (LLaMA-2, Mistral-7B) with Russian pieces.

SentencePiece BPE segments by scores: it repeatedly joins the two adjacent pieces whose concatenation is in
the vocabulary with the highest score. The new pieces are appended after every base piece with scores below
the base's lowest, so every base join still happens first, and each holds a Cyrillic letter, so text without
Cyrillic segments exactly as with the base. transformers orders the merges of its fast tokenizer by piece id,
which for the appended pieces is the same order.

The pieces come from a Russian BPE model learned on the corpus with the base's normaliser and segmentation
flags: those that hold Cyrillic and that the base lacks, in the order learned. A piece is made only by joining
two pieces, so one is kept only when some split of it into two kept or base pieces exists.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ru_llm.core.atomic import atomic_directory
from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.bpe_extend import ExtendReport, check_byte_level_bpe
from ru_llm.tokenize.produced import (
    ROUND_TRIP_SAMPLES,
    check_out_dir,
    copy_tokenizer_files,
    has_cyrillic_text,
    verify_tokenizer,
)
from ru_llm.tokenize.spm import (
    BPE,
    CONTROL,
    NORMAL,
    UNUSED,
    USER_DEFINED,
    TrainingLines,
    VocabularyTooLargeError,
    VocabularyTooSmallError,
    adds_dummy_prefix,
    base_model_file,
    check_fast_matches_model,
    collect_lines,
    find_model_file,
    hf_added_tokens,
    lowest_score,
    meta_piece_count,
    model_proto,
    model_type,
    model_type_name,
    next_score_below,
    read_base_model,
    train_from_lines,
    write_tokenizer_json,
)

UNIGRAM_HINT = "use `ru-llm tokenize replace` to learn a new Russian vocabulary in its place"
# Russian text for the check that tokenizer.json and tokenizer.model agree (beside ROUND_TRIP_SAMPLES).
_AGREEMENT_SAMPLES = (
    "Сегодня в Москве прошло заседание правительства, на котором обсуждали развитие транспорта.",
    "«Ёжик в тумане» — мультфильм Юрия Норштейна (1975); подъезд №3, 5-й этаж.",
)
_EXAMPLES = 10


def uses_sentencepiece(base_dir: str | Path) -> bool:
    """Whether ``extend`` treats the base as SentencePiece: a ``tokenizer.model`` and no byte-level ``tokenizer.json``.

    A LLaMA-2 directory from the hub holds both, its ``tokenizer.json`` being a converted SentencePiece one.
    """
    base = Path(base_dir).expanduser()
    if not base.is_dir() or find_model_file(base) is None:
        return False
    try:
        check_byte_level_bpe(json.loads((base / "tokenizer.json").read_text(encoding="utf-8")), str(base))
    except (OSError, ValueError, RuLLMError):
        return True
    return False


def read_sentencepiece_bpe(base_dir: str | Path) -> Any:
    """The base's BPE ``ModelProto``; a Unigram base (T5, XLM-R) gets a one-line error pointing to replace."""
    proto = read_base_model(base_dir)
    if model_type(proto) != BPE:
        raise RuLLMError(
            f"base {base_dir}: is a SentencePiece {model_type_name(model_type(proto))} tokenizer; "
            "extend supports SentencePiece BPE (LLaMA-2, Mistral-7B) and byte-level BPE bases",
            hint=UNIGRAM_HINT,
        )
    return proto


def reachable_in_order(candidates: Iterable[str], known: set[str], limit: int) -> list[str]:
    """Up to ``limit`` candidates, in order, each of one character or splitting into two earlier-known pieces.

    Passes repeat while they add pieces, so a piece whose only split uses a later candidate still gets in
    (after it); every prefix of the result is closed, so cutting it at ``limit`` leaves nothing unreachable.
    """
    kept: list[str] = []
    known = set(known)
    remaining = list(candidates)
    while remaining and len(kept) < limit:
        left_over = []
        for piece in remaining:
            if len(kept) == limit:
                break
            if len(piece) == 1 or any(piece[:i] in known and piece[i:] in known for i in range(1, len(piece))):
                kept.append(piece)
                known.add(piece)
            else:
                left_over.append(piece)
        if len(left_over) == len(remaining):
            break
        remaining = left_over
    return kept


@dataclass
class SentencePieceExtension:
    """What :func:`learn_sentencepiece_extension` learned: the new pieces in the order their ids follow."""

    pieces: list[str]
    learnable: bool  # False when the corpus supports fewer pieces than asked


def distinct_cyrillic_words(lines: TrainingLines) -> int:
    words = set()
    for line in lines.weights:
        words.update(word for word in line.split() if has_cyrillic_text(word))
    return len(words)


def learn_sentencepiece_extension(proto: Any, lines: TrainingLines, new_pieces: int) -> SentencePieceExtension:
    """Learn up to ``new_pieces`` Cyrillic pieces the base lacks from ``lines``, with the base's flags.

    The Russian model relearns many pieces the base has and some without Cyrillic, so it is asked for a margin
    more; when that is not enough it is asked again for more, up to the most the corpus supports.
    """
    base_pieces = {p.piece for p in proto.pieces}
    base_cyrillic = sum(has_cyrillic_text(piece) for piece in base_pieces)
    ask = meta_piece_count(proto) + new_pieces + base_cyrillic + 512
    ceiling: int | None = None
    while True:
        try:
            learned = model_proto(train_from_lines(lines, ask, BPE, like=proto))
        except VocabularyTooLargeError as error:
            if error.supported >= ask:  # pragma: no cover - sentencepiece contradicting itself
                raise
            ask = ceiling = error.supported
            continue
        except VocabularyTooSmallError as error:  # the corpus has more distinct characters than the margin
            ask = error.needed + new_pieces + base_cyrillic
            continue
        fresh = [p.piece for p in learned.pieces if p.type == NORMAL and p.piece not in base_pieces]
        fresh = [piece for piece in fresh if has_cyrillic_text(piece)]
        # Letters the base lacks first (they make the rest reachable), then the joined pieces as learned.
        ordered = [p for p in fresh if len(p) == 1] + [p for p in fresh if len(p) > 1]
        kept = reachable_in_order(ordered, base_pieces, new_pieces)
        if len(kept) == new_pieces or ask == ceiling:
            return SentencePieceExtension(kept, learnable=len(kept) == new_pieces)
        more = ask + (new_pieces - len(kept)) * 2 + 512
        ask = min(more, ceiling) if ceiling is not None else more


def extended_model(proto: Any, pieces: list[str], added: dict[int, tuple[str, bool]]) -> Any:
    """The base model with ``pieces`` appended, scored below every base piece in their order.

    Tokens transformers adds after the model (``added``: a ``<pad>`` at 32000) become pieces at the same ids
    first, so the new pieces do not take their ids.
    """
    extended = model_proto(proto.SerializeToString())
    for i in sorted(i for i in added if i >= len(extended.pieces)):
        while len(extended.pieces) < i:  # a gap transformers left: an unused placeholder keeps the numbering
            extended.pieces.add(piece=f"<ru_llm_unused_{len(extended.pieces)}>", score=0.0, type=UNUSED)
        content, special = added[i]
        extended.pieces.add(piece=content, score=0.0, type=CONTROL if special else USER_DEFINED)
    score = lowest_score(proto)
    for piece in pieces:
        score = next_score_below(score)
        extended.pieces.add(piece=piece, score=score, type=NORMAL)
    extended.trainer_spec.vocab_size = len(extended.pieces)
    return extended


def extend_sentencepiece_bpe(
    base_dir: str | Path,
    texts: Iterable[tuple[str, float]],
    new_tokens: int,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    on_text: Callable[[], None] | None = None,
) -> ExtendReport:
    """Learn ``new_tokens`` Russian pieces after a SentencePiece BPE base's pieces and save the tokenizer.

    Writes ``tokenizer.model`` and a matching ``tokenizer.json`` (plus the base's other files) to a temp dir
    beside ``out_dir`` and renames it into place: a failure leaves nothing half-written.
    """
    start = time.perf_counter()
    base = Path(base_dir).expanduser()
    out = Path(out_dir).expanduser()
    model_file = base_model_file(base)
    proto = read_sentencepiece_bpe(base)
    check_out_dir(out, overwrite, base)
    if new_tokens < 1:
        raise RuLLMError(f"--add {new_tokens}: must be at least 1", hint="pass the number of new tokens to learn")
    lines = collect_lines(texts, dummy_prefix=adds_dummy_prefix(proto), on_text=on_text)
    words = distinct_cyrillic_words(lines)
    if not words:
        raise RuLLMError("the corpus has no Cyrillic words to learn from", hint="pass Russian text or wordfreq:ru")
    extension = learn_sentencepiece_extension(proto, lines, new_tokens)
    if not extension.learnable:
        supported = len(extension.pieces)
        raise RuLLMError(
            f"--add {new_tokens}: the corpus supports only {supported} new tokens ({words} distinct Cyrillic words)",
            hint=f"pass --add {supported} or less, or a larger corpus (e.g. add wordfreq:ru)",
        )
    extended = extended_model(proto, extension.pieces, hf_added_tokens(base))
    model = extended.SerializeToString()
    with atomic_directory(out) as work:
        copy_tokenizer_files(base, work, skip=(model_file.name, "tokenizer.json"))
        (work / model_file.name).write_bytes(model)
        write_tokenizer_json(work, pipeline_from=base / "tokenizer.json")
        verify_tokenizer(work, base, keeps_base_ids=True)
        from transformers import AutoTokenizer

        base_fast = AutoTokenizer.from_pretrained(str(base), trust_remote_code=False)
        samples = (*ROUND_TRIP_SAMPLES, *_AGREEMENT_SAMPLES)
        check_fast_matches_model(work, model, samples, base=(proto.SerializeToString(), base_fast))
    first_new = len(extended.pieces) - len(extension.pieces)
    examples = [p.replace("▁", " ") for p in extension.pieces if len(p.strip("▁")) > 1][:_EXAMPLES]
    return ExtendReport(
        base=str(base_dir),
        out_dir=str(out),
        base_vocab=first_new,
        new_tokens=len(extension.pieces),
        new_merges=len(extension.pieces),
        first_new_id=first_new,
        pre_tokens=words,
        seconds=round(time.perf_counter() - start, 3),
        examples=examples,
    )
