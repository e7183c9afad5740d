"""Extend a SentencePiece BPE tokenizer (LLaMA-2, Mistral-7B) with Russian pieces.

SentencePiece BPE segments by scores: it repeatedly joins the two adjacent pieces whose concatenation is in
the vocabulary with the highest score. The new pieces are appended after every base piece with scores below
the base's lowest, so every base join still happens first, and each holds a Cyrillic letter, so text without
Cyrillic segments exactly as with the base. transformers orders the merges of its fast tokenizer by piece id,
which for the appended pieces is the same order.

The pieces are learned on top of the base's own segmentation, as :mod:`ru_llm.tokenize.bpe.extend` learns
byte-level merges: each training line is segmented by the base, each distinct base piece becomes one
private-use character, and the Rust ``tokenizers`` BpeTrainer continues BPE from there. Every new piece is
then checked to come out of the extended model on the training text; one that does not is replaced by a
later merge's piece.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from ru_llm.core.atomic import atomic_directory
from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.bpe.extend import (
    MAX_OCCURRENCES,
    PRIVATE_USE,
    ExtendReport,
    check_new_tokens,
    repeat_counts,
    train_merges,
)
from ru_llm.tokenize.bpe.extend import uses_sentencepiece as uses_sentencepiece  # its callers read it here
from ru_llm.tokenize.produced import (
    ROUND_TRIP_SAMPLES,
    check_out_dir,
    copy_tokenizer_files,
    has_cyrillic_text,
    verify_tokenizer,
)
from ru_llm.tokenize.sentencepiece.model import (
    BPE,
    BYTE,
    CONTROL,
    NORMAL,
    TRAIN_THREADS,
    UNUSED,
    USER_DEFINED,
    TrainingLines,
    adds_dummy_prefix,
    base_model_file,
    check_fast_matches_model,
    collect_lines,
    hf_added_tokens,
    lowest_score,
    model_proto,
    model_type,
    model_type_name,
    next_score_below,
    read_base_model,
    write_tokenizer_json,
)

UNIGRAM_HINT = "use `ru-llm tokenize replace` to learn a new Russian vocabulary in its place"
# Russian text for the check that tokenizer.json and tokenizer.model agree (beside ROUND_TRIP_SAMPLES).
_AGREEMENT_SAMPLES = (
    "Сегодня в Москве прошло заседание правительства, на котором обсуждали развитие транспорта.",
    "«Ёжик в тумане» — мультфильм Юрия Норштейна (1975); подъезд №3, 5-й этаж.",
)
_EXAMPLES = 10
# Every new piece must come out of the extended model on the training text: checked on its heaviest distinct
# runs of base pieces, this many characters in all (wordfreq:ru's are 13.4 million; 3 s to segment them).
CHECK_CHARS = 20_000_000
_ENCODE_BATCH = 65536


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


_WHITESPACE = "\u2581"
_NEVER_IN_PIECES = frozenset("\u2585\x00\t ")  # the unk mark, NUL, tab (a boundary mark) and space
_ANY, _INHERITED, _CYRILLIC, _OTHER = 0, 1, 2, 3
# Unicode's Cyrillic script and the combining marks of the Inherited script next to it.
_CYRILLIC_RANGES = ((0x0400, 0x0484), (0x0487, 0x052F), (0x1C80, 0x1C8A), (0x1D2B, 0x1D2B), (0x1D78, 0x1D78),
                    (0x2DE0, 0x2DFF), (0xA640, 0xA69F), (0xFE2E, 0xFE2F), (0x1E030, 0x1E08F))  # fmt: skip
_INHERITED_RANGES = ((0x0300, 0x036F), (0x0485, 0x0486), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x200C, 0x200D),
                     (0x20D0, 0x20FF), (0xFE00, 0xFE0F), (0xFE20, 0xFE2D))  # fmt: skip


class PieceRules:
    """Which strings the base's trainer flags allow as a piece: sentencepiece's ``IsValidSentencePiece``.

    Scripts are told apart only as far as a piece holding Cyrillic needs: Cyrillic, combining marks (which take
    the script before them), digits, and everything else (never in one piece with Cyrillic when the base splits
    by script).
    """

    def __init__(self, spec: Any) -> None:
        self.max_length = spec.max_sentencepiece_length
        self.split_by_whitespace = spec.split_by_whitespace
        self.whitespace_suffix = spec.treat_whitespace_as_suffix
        self.whitespace_only = spec.allow_whitespace_only_pieces
        self.split_by_script = spec.split_by_unicode_script
        self.split_by_number = spec.split_by_number
        self.split_digits = spec.split_digits

    def valid(self, piece: str) -> bool:
        size = len(piece)
        if not 0 < size <= self.max_length:
            return False
        whitespace_only = self.whitespace_only and all(c == _WHITESPACE for c in piece)
        previous = _ANY
        for pos, c in enumerate(piece):
            if c in _NEVER_IN_PIECES:
                return False
            if c == _WHITESPACE:
                if whitespace_only:
                    continue
                if self.whitespace_suffix:
                    if pos < size - 1 and (self.split_by_whitespace or pos == 0):
                        return False
                elif pos > 0 and (self.split_by_whitespace or pos == size - 1):
                    return False
                continue
            script = _SCRIPTS.get(c)
            if script is None:
                script = _SCRIPTS[c] = _script(c)
            if script == _INHERITED:
                script = previous
            number = c.isdecimal()
            if number and not self.split_by_number:
                script = _ANY
            if number and self.split_digits and size > 1:
                return False
            if self.split_by_script and _ANY not in (script, previous) and script != previous:
                return False
            previous = script
        return True


_SCRIPTS: dict[str, int] = {}


def _script(c: str) -> int:
    code = ord(c)
    if any(low <= code <= high for low, high in _CYRILLIC_RANGES):
        return _CYRILLIC
    if any(low <= code <= high for low, high in _INHERITED_RANGES):
        return _INHERITED
    return _OTHER


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


def _processor(proto: Any) -> Any:
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_proto=proto.SerializeToString())


def _encode(processor: Any, texts: list[str]) -> Iterable[list[int]]:
    for start in range(0, len(texts), _ENCODE_BATCH):
        yield from processor.encode(texts[start : start + _ENCODE_BATCH], num_threads=TRAIN_THREADS)


def base_segment_runs(
    proto: Any, lines: TrainingLines, rules: PieceRules
) -> tuple[Counter[tuple[int, ...]], list[str | None]]:
    """Weighted counts of the runs of base pieces the base splits the Cyrillic lines into, as the model sees them.

    Runs hold unit numbers; the second list gives each number's string (a base piece at its id).

    A run ends between two pieces no new piece may join: where neither holds Cyrillic (text without Cyrillic
    keeps its segmentation), or where the base's flags forbid a piece holding both (a word boundary, a script
    change, a digit). A Cyrillic character the base spells in bytes is a unit of its own; special pieces and
    other characters spelt in bytes end runs.
    """
    # Units by number: the base's pieces at their ids (None: not joinable), then "blocked", then spelt characters.
    units: list[str | None] = [p.piece if p.type == NORMAL else None for p in proto.pieces]
    byte_values = {i: int(p.piece[3:5], 16) for i, p in enumerate(proto.pieces) if p.type == BYTE}  # "<0xD1>"
    blocked = len(units)
    units.append(None)
    spelt_units: dict[str, int] = {}

    def respell(ids: list[int]) -> list[int]:
        out: list[int] = []
        spelt = bytearray()
        for i in [*ids, blocked]:
            if i in byte_values:
                spelt.append(byte_values[i])
                continue
            for c in spelt.decode("utf-8", errors="replace"):
                if not has_cyrillic_text(c):
                    out.append(blocked)
                    continue
                if c not in spelt_units:
                    spelt_units[c] = len(units)
                    units.append(c)
                out.append(spelt_units[c])
            spelt.clear()
            out.append(i)
        return out[:-1]

    width = 1 << 32
    joinable: dict[int, bool] = {}

    def join(key: int) -> bool:
        left, right = units[key // width], units[key % width]
        ok = left is not None and right is not None and has_cyrillic_text(left + right) and rules.valid(left + right)
        joinable[key] = ok
        return ok

    weights = lines.weights
    texts = [line for line in weights if has_cyrillic_text(line)]
    runs: dict[tuple[int, ...], float] = {}
    for line, ids in zip(texts, _encode(_processor(proto), texts), strict=True):
        if byte_values and not byte_values.keys().isdisjoint(ids):
            ids = respell(ids)
        if len(ids) < 2:
            continue
        weight = weights[line]
        keys = [left * width + right for left, right in pairwise(ids)]
        joins = list(map(joinable.get, keys))
        if None in joins:
            joins = [join(key) if ok is None else ok for ok, key in zip(joins, keys, strict=True)]
        if all(joins):  # most words: one run
            run = tuple(ids)
            runs[run] = runs.get(run, 0.0) + weight
            continue
        start = 0
        for end, ok in enumerate([*joins, False], 1):
            if not ok:
                if end - start > 1:
                    run = tuple(ids[start:end])
                    runs[run] = runs.get(run, 0.0) + weight
                start = end
    return Counter(runs), units


def bpe_joins(text: str, scores: dict[str, float]) -> list[str]:
    """The pieces SentencePiece BPE forms, in order, while it segments ``text`` alone.

    It starts from characters and repeatedly joins the adjacent pair whose concatenation has the highest score
    (the leftmost of equals). Inside a text, a piece comes out the same way: no join crossed its edges.
    """
    symbols = list(text)
    formed = []
    while True:
        best, at = None, -1
        for i in range(len(symbols) - 1):
            score = scores.get(symbols[i] + symbols[i + 1])
            if score is not None and (best is None or score > best):
                best, at = score, i
        if best is None:
            return formed
        symbols[at : at + 2] = [symbols[at] + symbols[at + 1]]
        formed.append(symbols[at])


def _check_texts(runs: Counter[tuple[int, ...]], units: list[str | None]) -> list[str]:
    """The runs' texts, heaviest first, up to ``CHECK_CHARS`` characters: what the new pieces must be made on."""
    texts, chars = [], 0
    for run, _ in runs.most_common():
        text = "".join(units[i] for i in run)  # type: ignore[misc]  # runs hold no None
        chars += len(text)
        if chars > CHECK_CHARS:
            break
        texts.append(text)
    return texts


def produced_pieces(proto: Any, pieces: list[str], added: dict[int, tuple[str, bool]], texts: list[str]) -> set[str]:
    """Which of ``pieces``, appended to the base, SentencePiece makes while it segments ``texts``.

    A piece counts when it is in the segmentation of some text, or formed on the way to a new piece that is.
    ``texts`` are normalised already (runs of base pieces), so they are segmented as they are, with no ``▁``
    put before them.
    """
    extended = extended_model(proto, pieces, added)
    normalizer = extended.normalizer_spec
    normalizer.name = "identity"
    normalizer.ClearField("precompiled_charsmap")
    normalizer.add_dummy_prefix = False
    normalizer.remove_extra_whitespaces = False
    first_new = len(extended.pieces) - len(pieces)
    seen: set[int] = set()
    for ids in _encode(_processor(extended), texts):
        seen.update(ids)
    produced = {pieces[i - first_new] for i in seen if i >= first_new}
    scores = {p.piece: p.score for p in extended.pieces if p.type in (NORMAL, USER_DEFINED)}
    new = set(pieces)
    made = set(produced)
    for piece in produced:
        made.update(joined for joined in bpe_joins(piece, scores) if joined in new)
    return made


def _learned_pieces(
    words: dict[str, int], merges: int, from_private: dict[str, str], base_pieces: set[str], rules: PieceRules
) -> tuple[list[str], bool]:
    """New pieces from ``merges`` merges learned over ``words``, in order; and whether the corpus ran out."""
    learned = train_merges(words, merges) if words else []
    pieces: list[str] = []
    seen = set(base_pieces)
    for left, right in learned:
        piece = "".join(from_private[c] for c in left + right)
        # A base piece costs no id (SentencePiece makes it anyway); the run split leaves only the length to check.
        if piece not in seen and has_cyrillic_text(piece) and rules.valid(piece):
            pieces.append(piece)
            seen.add(piece)
    return pieces, len(learned) < merges


def learn_sentencepiece_extension(
    proto: Any,
    lines: TrainingLines,
    new_pieces: int,
    added: dict[int, tuple[str, bool]] | None = None,
    *,
    max_occurrences: int = MAX_OCCURRENCES,
) -> SentencePieceExtension:
    """Learn up to ``new_pieces`` Cyrillic pieces the base lacks from ``lines``, on top of the base's segmentation.

    BPE continues from where the base stops: each distinct base piece in the runs becomes one private-use
    character and the Rust trainer learns merges over them. Appended in that order, below every base piece,
    SentencePiece makes each from the base's pieces of the same text. Pieces it still never makes on the
    training text (it joins by the string, not the learned pair) are dropped, and later merges take their place.

    :param added: tokens transformers adds after the model (see :func:`extended_model`).
    """
    added = added or {}
    rules = PieceRules(proto.trainer_spec)
    runs, units = base_segment_runs(proto, lines, rules)
    present = sorted(set().union(*runs))
    if len(present) > len(PRIVATE_USE):  # pragma: no cover - more than 130,000 distinct base pieces
        raise RuLLMError(f"the corpus holds {len(present)} distinct base pieces; at most {len(PRIVATE_USE)} fit")
    private = [""] * len(units)
    from_private: dict[str, str] = {}
    for n, unit in enumerate(present):
        private[unit] = chr(PRIVATE_USE[n])
        from_private[private[unit]] = units[unit]  # type: ignore[assignment]  # runs hold no None
    words = repeat_counts({"".join(map(private.__getitem__, run)): w for run, w in runs.items()}, max_occurrences)
    texts = _check_texts(runs, units)
    base_pieces = {p.piece for p in proto.pieces}
    dropped: set[str] = set()
    ask = new_pieces + new_pieces // 4 + 64
    while True:
        learned, exhausted = _learned_pieces(words, ask, from_private, base_pieces, rules)
        while True:
            pieces = [piece for piece in learned if piece not in dropped][:new_pieces]
            if len(pieces) < new_pieces and not exhausted:
                break
            unused = set(pieces) - produced_pieces(proto, pieces, added, texts)
            if not unused:
                return SentencePieceExtension(pieces, learnable=len(pieces) == new_pieces)
            dropped |= unused
        ask += (new_pieces - len(pieces)) * 2 + new_pieces // 8 + 64


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
    base_tokenizer: Any = None,
) -> ExtendReport:
    """Learn ``new_tokens`` Russian pieces after a SentencePiece BPE base's pieces and save the tokenizer.

    Writes ``tokenizer.model`` and a matching ``tokenizer.json`` (plus the base's other files) to a temp dir
    beside ``out_dir`` and renames it into place: a failure leaves nothing half-written.

    :param base_tokenizer: the base already loaded by ``AutoTokenizer`` (as :func:`ru_llm.tokenize.extend.check_base`
        loads it); otherwise it is loaded once here for the final checks.
    """
    start = time.perf_counter()
    base = Path(base_dir).expanduser()
    out = Path(out_dir).expanduser()
    model_file = base_model_file(base)
    proto = read_sentencepiece_bpe(base)
    check_new_tokens(new_tokens)
    check_out_dir(out, overwrite, base)
    lines = collect_lines(texts, dummy_prefix=adds_dummy_prefix(proto), on_text=on_text)
    words = distinct_cyrillic_words(lines)
    if not words:
        raise RuLLMError("the corpus has no Cyrillic words to learn from", hint="pass Russian text or wordfreq:ru")
    added = hf_added_tokens(base)
    extension = learn_sentencepiece_extension(proto, lines, new_tokens, added)
    if not extension.learnable:
        supported = len(extension.pieces)
        raise RuLLMError(
            f"{new_tokens} new tokens: the corpus supports only {supported} ({words} distinct Cyrillic words)",
            hint=f"ask for {supported} new tokens or fewer, or use a larger corpus (e.g. add wordfreq:ru)",
        )
    extended = extended_model(proto, extension.pieces, added)
    model = extended.SerializeToString()
    with atomic_directory(out, command="tokenize extend") as work:
        copy_tokenizer_files(base, work, skip=(model_file.name, "tokenizer.json"))
        (work / model_file.name).write_bytes(model)
        write_tokenizer_json(work, pipeline_from=base / "tokenizer.json")
        base_fast = base_tokenizer
        if base_fast is None:
            from transformers import AutoTokenizer

            base_fast = AutoTokenizer.from_pretrained(str(base), trust_remote_code=False)
        new = verify_tokenizer(work, base, keeps_base_ids=True, base_tokenizer=base_fast)
        samples = (*ROUND_TRIP_SAMPLES, *_AGREEMENT_SAMPLES)
        check_fast_matches_model(work, model, samples, base=(proto.SerializeToString(), base_fast), fast=new)
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
