"""SentencePiece models as data: read a base's ``tokenizer.model``, train a new one from weighted texts.

A model is a ``sentencepiece_model_pb2.ModelProto``: its pieces (string, score, type) in id order, the
normaliser that rewrites text before segmentation, and the trainer flags that shaped the pieces. Both
``ru-llm tokenize extend`` (new pieces appended to a BPE base) and the SentencePiece trainers of ``train`` and
``replace`` go through this module, so the two learn from the corpus the same way.

The corpus reaches ``sentencepiece`` as a TSV file of distinct lines and integer counts (its ``tsv`` input
format), so wordfreq's weighted words and whole text files mix, and nothing is repeated on disk.

``sentencepiece`` and its protobuf module are imported inside the functions: ``import ru_llm.tokenize`` stays
light.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.loading import SENTENCEPIECE_MODEL_FILES, base_directory

# TrainerSpec.ModelType
UNIGRAM = 1
BPE = 2
MODEL_TYPE_NAMES = {UNIGRAM: "unigram", BPE: "bpe", 3: "word", 4: "char"}
# ModelProto.SentencePiece.Type
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# File names SentencePiece models go by in Hugging Face directories (LLaMA/Mistral, T5, XLM-R), first wins.
MODEL_FILES = SENTENCEPIECE_MODEL_FILES
# Distinct training lines kept (the heaviest; sentencepiece would sample anyway): memory stays bounded.
MAX_LINES = 2_000_000
# Longer lines are cut at a space: sentencepiece skips any sentence over ``max_sentence_length`` bytes.
MAX_LINE_CHARS = 1024
TRAIN_THREADS = max(1, min(os.cpu_count() or 1, 16))
DEFAULT_CHARACTER_COVERAGE = 0.9999
# Normalisation rules sentencepiece knows by name; any other base normaliser is copied in after training.
BUILTIN_NORMALIZERS = ("identity", "nmt_nfkc", "nfkc", "nmt_nfkc_cf", "nfkc_cf")
# Trainer flags that decide which strings can be pieces; a replacement or extension learns with the base's.
SHAPING_FLAGS = (
    "split_by_unicode_script",
    "split_by_number",
    "split_by_whitespace",
    "split_digits",
    "treat_whitespace_as_suffix",
    "allow_whitespace_only_pieces",
    "byte_fallback",
    "max_sentencepiece_length",
    "unk_id",
    "bos_id",
    "eos_id",
    "pad_id",
    "unk_piece",
    "bos_piece",
    "eos_piece",
    "pad_piece",
    "unk_surface",
)
CORPUS_HINT = "use a larger corpus (e.g. add wordfreq:ru)"

_TOO_HIGH = re.compile(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)")
_TOO_SMALL = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)")


class VocabularyTooLargeError(RuLLMError):
    """The corpus runs out of merges (BPE) or candidates (Unigram) before ``requested`` pieces."""

    def __init__(self, requested: int, supported: int) -> None:
        self.requested = requested
        self.supported = supported
        super().__init__(
            f"vocabulary size {requested}: the corpus supports at most {supported} SentencePiece pieces",
            hint=f"ask for {supported} or less, or {CORPUS_HINT}",
        )


class VocabularyTooSmallError(RuLLMError):
    """``requested`` is below the characters and special pieces the corpus needs (``needed``)."""

    def __init__(self, requested: int, needed: int) -> None:
        self.requested = requested
        self.needed = needed
        super().__init__(
            f"vocabulary size {requested}: smaller than the {needed} characters and special pieces the corpus needs",
            hint=f"ask for {needed} or more (a useful Russian vocabulary has 16,000 or more)",
        )


def model_proto(data: bytes = b"") -> Any:
    """A ``ModelProto``, parsed from ``data`` when given (no validation)."""
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    if data:
        proto.ParseFromString(data)
    return proto


def find_model_file(base_dir: str | Path) -> Path | None:
    """The SentencePiece model file of a tokenizer directory (``tokenizer.model`` and its other names), if any."""
    base = Path(base_dir).expanduser()
    return next((base / name for name in MODEL_FILES if (base / name).is_file()), None)


def read_model(path: str | Path) -> Any:
    """Parse a SentencePiece model file; a one-line :class:`RuLLMError` names a corrupt or empty one."""
    from google.protobuf.message import DecodeError

    hint = "copy the base's tokenizer.model again (a Git LFS pointer or a cut download is not a model)"
    try:
        proto = model_proto(Path(path).read_bytes())
    except OSError as error:
        raise RuLLMError(f"{path}: cannot be read ({error.strerror or error})", hint=hint) from error
    except DecodeError as error:
        raise RuLLMError(f"{path}: not a SentencePiece model ({error})", hint=hint) from error
    if not proto.pieces:
        raise RuLLMError(f"{path}: not a SentencePiece model (it holds no pieces)", hint=hint)
    return proto


def base_model_file(base_dir: str | Path) -> Path:
    """The SentencePiece model file of a base directory, with one-line errors for a missing dir or file."""
    hint = "pass a local directory holding the base model's tokenizer.model (SentencePiece)"
    base = base_directory(base_dir, hint)
    path = find_model_file(base)
    if path is None:
        raise RuLLMError(f"base {base_dir}: the directory has no tokenizer.model", hint=hint)
    return path


def read_base_model(base_dir: str | Path) -> Any:
    """The ``ModelProto`` of a base tokenizer directory (see :func:`base_model_file` and :func:`read_model`)."""
    return read_model(base_model_file(base_dir))


def model_type(proto: Any) -> int:
    """:data:`UNIGRAM` or :data:`BPE` (or another ``TrainerSpec.ModelType``); unset means Unigram, as in spm."""
    return int(proto.trainer_spec.model_type) or UNIGRAM


def model_type_name(kind: int) -> str:
    return MODEL_TYPE_NAMES.get(kind, str(kind))


def adds_dummy_prefix(proto: Any | None) -> bool:
    """Whether encoding puts a word boundary (``▁``) before the text, as LLaMA-2 and Mistral do."""
    if proto is None:
        return True
    return bool(proto.normalizer_spec.add_dummy_prefix) and not proto.trainer_spec.treat_whitespace_as_suffix


def lowest_score(proto: Any) -> float:
    return min((p.score for p in proto.pieces), default=0.0)


def next_score_below(score: float) -> float:
    """The next score below ``score`` that a float32 (the proto's type) holds: one less, or the next float32.

    Bases put some pieces at -1e9, where float32 steps are 64 apart: ``score - 1`` would round back.
    """

    def f32(value: float) -> float:
        return struct.unpack("<f", struct.pack("<f", value))[0]

    lower = f32(score - 1.0)
    if lower < score:
        return lower
    bits = struct.unpack("<I", struct.pack("<f", score))[0]
    if score > 0:
        bits -= 1
    elif score < 0:
        bits += 1
    else:
        bits = 0x80000001  # the smallest negative float32
    return struct.unpack("<f", struct.pack("<I", bits))[0]


@dataclass
class TrainingLines:
    """Distinct training lines with summed weights, as :func:`collect_lines` read them."""

    weights: dict[str, float] = field(default_factory=dict)
    texts: int = 0  # (text, weight) pairs read
    dropped: int = 0  # distinct lines left out as the lightest once there were too many

    def tsv_counts(self) -> dict[str, int]:
        """Integer counts (at least 1) proportional to the weights: the smallest weight, or 1, is one count.

        The total stays far below sentencepiece's int64 counters, whatever weights were given.
        """
        if not self.weights:
            return {}
        unit = max(min(1.0, min(self.weights.values())), sum(self.weights.values()) / 1e15)
        return {line: max(1, round(weight / unit)) for line, weight in self.weights.items()}


def _cut(line: str, limit: int = MAX_LINE_CHARS) -> Iterable[str]:
    while len(line) > limit:
        cut = line.rfind(" ", 1, limit)
        cut = cut if cut > 0 else limit
        yield line[:cut]
        line = line[cut:]
    yield line


def _keep_heaviest(weights: dict[str, float], keep: int) -> int:
    """Keep the ``keep`` heaviest lines (ties by first seen), whatever order the corpora came in; return how
    many were left out. A line left out early may come back later with only its later weight."""
    import heapq

    kept = heapq.nlargest(keep, weights.items(), key=lambda item: item[1])
    dropped = len(weights) - len(kept)
    weights.clear()
    weights.update(kept)
    return dropped


def collect_lines(
    texts: Iterable[tuple[str, float]],
    *,
    dummy_prefix: bool = True,
    on_text: Callable[[], None] | None = None,
    max_lines: int = MAX_LINES,
) -> TrainingLines:
    """Split ``(text, weight)`` pairs into lines and sum each distinct line's weight.

    :param dummy_prefix: the model puts ``▁`` before each line itself; one leading space is dropped, so that
        wordfreq's `` слово`` and the line start ``Слово`` give the word as running text has it.
    """
    lines = TrainingLines()
    weights = lines.weights
    for text, weight in texts:
        lines.texts += 1
        if on_text is not None:
            on_text()
        if weight <= 0:
            continue
        # TSV fields end at tabs and lines at newlines; a tab inside a text becomes a space.
        for raw in text.replace("\t", " ").replace("\r", "").replace("\x00", "").split("\n"):
            for line in _cut(raw):
                if dummy_prefix and line.startswith(" "):
                    line = line[1:]
                if not line.strip():
                    continue
                if line in weights:
                    weights[line] += weight
                    continue
                if len(weights) >= 2 * max_lines:
                    lines.dropped += _keep_heaviest(weights, max_lines)
                weights[line] = weight
    if len(weights) > max_lines:
        lines.dropped += _keep_heaviest(weights, max_lines)
    return lines


def special_piece_lists(like: Any | None, extra: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """Control and user-defined pieces for the trainer: the base's (id order, bos/eos/pad excepted), then ``extra``."""
    control: list[str] = []
    user: list[str] = []
    reserved = {"<unk>", "<s>", "</s>"}  # a standalone model's unk, bos and eos (ids 0, 1, 2)
    if like is not None:
        spec = like.trainer_spec
        pairs = ((spec.unk_id, spec.unk_piece), (spec.bos_id, spec.bos_piece), (spec.eos_id, spec.eos_piece),
                 (spec.pad_id, spec.pad_piece))  # fmt: skip
        reserved = {piece for i, piece in pairs if i >= 0}  # LLaMA-2 names "<pad>" but has none (pad_id -1)
        for piece in like.pieces:
            if piece.piece in reserved:
                continue
            if piece.type == CONTROL:
                control.append(piece.piece)
            elif piece.type == USER_DEFINED:
                user.append(piece.piece)
    seen = set(control) | set(user) | reserved
    for piece in extra:
        if piece not in seen:
            user.append(piece)
            seen.add(piece)
    return control, user


def meta_piece_count(like: Any | None, extra: Sequence[str] = ()) -> int:
    """Pieces a model holds whatever the corpus: unk/bos/eos/pad, control, user-defined and byte pieces."""
    spec = like.trainer_spec if like is not None else None
    ids = (spec.unk_id, spec.bos_id, spec.eos_id, spec.pad_id) if spec is not None else (0, 1, 2)
    byte_fallback = spec.byte_fallback if spec is not None else True
    control, user = special_piece_lists(like, extra)
    return sum(i >= 0 for i in ids) + len(control) + len(user) + (256 if byte_fallback else 0)


def hf_added_tokens(base_dir: str | Path) -> dict[int, tuple[str, bool]]:
    """Tokens transformers adds on top of a base's SentencePiece model: ``{id: (content, special)}``.

    They live in ``tokenizer_config.json`` (``added_tokens_decoder``), ``added_tokens.json`` or
    ``tokenizer.json``; most repeat a model piece (``<s>`` at 1), some extend the model (a ``<pad>`` at 32000).
    Unreadable files count as holding none: loading the base reports them.
    """
    import json

    base = Path(base_dir).expanduser()

    def load(name: str) -> Any:
        try:
            return json.loads((base / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    found: dict[int, tuple[str, bool]] = {}
    tokenizer_json = load("tokenizer.json")
    if isinstance(tokenizer_json, dict):
        for token in tokenizer_json.get("added_tokens") or []:
            found[int(token["id"])] = (token["content"], bool(token.get("special")))
    legacy = load("added_tokens.json")
    if isinstance(legacy, dict):
        for content, i in legacy.items():
            found.setdefault(int(i), (content, True))
    config = load("tokenizer_config.json")
    decoder = config.get("added_tokens_decoder") if isinstance(config, dict) else None
    if isinstance(decoder, dict):
        for i, token in decoder.items():
            if isinstance(token, dict) and "content" in token:
                found[int(i)] = (token["content"], bool(token.get("special")))
    return dict(sorted(found.items()))


def _trainer_options(like: Any | None, character_coverage: float | None) -> dict[str, Any]:
    """Flags that keep text exactly (identity normalisation, byte fallback) or, with ``like``, copy the base's."""
    options: dict[str, Any] = {
        "normalization_rule_name": "identity",
        "add_dummy_prefix": True,
        "remove_extra_whitespaces": False,
        "split_digits": True,
        "allow_whitespace_only_pieces": True,
        "byte_fallback": True,
        "character_coverage": character_coverage or DEFAULT_CHARACTER_COVERAGE,
        "unk_id": 0,
        "bos_id": 1,
        "eos_id": 2,
        "pad_id": -1,
    }
    if like is None:
        return options
    spec, normalizer = like.trainer_spec, like.normalizer_spec
    for name in SHAPING_FLAGS:  # unset fields read as sentencepiece's defaults, which is what the base used
        options[name] = getattr(spec, name)
    if normalizer.name in BUILTIN_NORMALIZERS:
        options["normalization_rule_name"] = normalizer.name
    options["add_dummy_prefix"] = normalizer.add_dummy_prefix
    options["remove_extra_whitespaces"] = normalizer.remove_extra_whitespaces
    if character_coverage is None and 0 < spec.character_coverage <= 1:
        options["character_coverage"] = spec.character_coverage
    return options


def _raise_for(error: RuntimeError, vocab_size: int) -> None:
    message = str(error)
    if match := _TOO_HIGH.search(message):
        raise VocabularyTooLargeError(vocab_size, int(match.group(2))) from error
    if match := _TOO_SMALL.search(message):
        raise VocabularyTooSmallError(vocab_size, int(match.group(2))) from error
    reason = message.strip().splitlines()[0] if message.strip() else type(error).__name__
    raise RuLLMError(f"SentencePiece training failed: {reason}", hint=CORPUS_HINT) from error


def _place_like_base(proto: Any, like: Any) -> None:
    """Move the base's special pieces to their base ids (where the new vocabulary reaches them).

    The trainer puts control and user-defined pieces right after unk/bos/eos, in the order given; a base that
    keeps them elsewhere (Gemma's turn markers) gets them back at the same ids. Scores are untouched, so the
    learned pieces keep their merge order.
    """
    size = len(proto.pieces)
    by_piece = {p.piece: p for p in proto.pieces}
    fixed = {
        i: p.piece
        for i, p in enumerate(like.pieces)
        if p.type in (UNKNOWN, CONTROL, USER_DEFINED) and i < size and p.piece in by_piece
    }
    if all(proto.pieces[i].piece == piece for i, piece in fixed.items()):
        return
    placed = set(fixed.values())
    rest = iter([p for p in proto.pieces if p.piece not in placed])
    order = [by_piece[fixed[i]] if i in fixed else next(rest) for i in range(size)]
    pieces = [model_proto().SentencePiece() for _ in order]
    for target, source in zip(pieces, order, strict=True):
        target.CopyFrom(source)
    del proto.pieces[:]
    proto.pieces.extend(pieces)


def train_from_lines(
    lines: TrainingLines,
    vocab_size: int,
    kind: int,
    *,
    like: Any | None = None,
    special_pieces: Sequence[str] = (),
    character_coverage: float | None = None,
) -> bytes:
    """Train a SentencePiece model of ``vocab_size`` pieces (special, byte and character pieces included).

    :param kind: :data:`BPE` or :data:`UNIGRAM`.
    :param like: a base ``ModelProto``: its normaliser, segmentation flags, unk/bos/eos/pad and other special
        pieces (at the same ids where they fit) are kept, so only the learned pieces differ.
    :param special_pieces: extra user-defined pieces (always one piece, matched in raw text).
    :returns: the serialised model.
    :raises RuLLMError: for an empty corpus; :class:`VocabularyTooLargeError` (naming the most the corpus
        supports) and :class:`VocabularyTooSmallError` for a ``vocab_size`` the corpus cannot give.
    """
    import io
    import tempfile

    import sentencepiece

    counts = lines.tsv_counts()
    if not counts:
        raise RuLLMError("the corpus has no text to learn from", hint="pass a corpus with some text in it")
    control, user = special_piece_lists(like, special_pieces)
    options = _trainer_options(like, character_coverage)
    with tempfile.TemporaryDirectory(prefix="ru-llm-spm-") as tmp:
        corpus = Path(tmp) / "corpus.tsv"
        with corpus.open("w", encoding="utf-8") as out:
            for line, count in counts.items():
                out.write(f"{line}\t{count}\n")
        model = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                input=str(corpus),
                input_format="tsv",
                model_writer=model,
                model_type=model_type_name(kind),
                vocab_size=vocab_size,
                control_symbols=control,
                user_defined_symbols=user,
                input_sentence_size=MAX_LINES,
                shuffle_input_sentence=True,
                # train_extremely_large_corpus stays at its default (false): sentencepiece 0.2.1+ warns on it.
                max_sentence_length=4 * MAX_LINE_CHARS + 16,
                num_threads=TRAIN_THREADS,
                minloglevel=2,  # errors come back as exceptions; INFO/WARNING would flood the terminal
                **options,
            )
        except RuntimeError as error:
            _raise_for(error, vocab_size)
    proto = model_proto(model.getvalue())
    # The temp path and prefix are meaningless in the written model.
    proto.trainer_spec.ClearField("input")
    proto.trainer_spec.ClearField("model_prefix")
    if like is not None:
        proto.normalizer_spec.CopyFrom(like.normalizer_spec)
        proto.denormalizer_spec.CopyFrom(like.denormalizer_spec)
        _place_like_base(proto, like)
    return proto.SerializeToString()


def train_sentencepiece(
    texts: Iterable[tuple[str, float]],
    vocab_size: int,
    kind: int,
    *,
    like: Any | None = None,
    special_pieces: Sequence[str] = (),
    on_text: Callable[[], None] | None = None,
) -> bytes:
    """Learn a SentencePiece model from weighted texts (see :func:`ru_llm.tokenize.corpus.weighted_texts`).

    :param texts: ``(text, weight)`` pairs: wordfreq's words (`` слово``, count) or chunks of text files.
    :param kind: :data:`BPE` or :data:`UNIGRAM`.
    See :func:`train_from_lines` for ``like``, ``special_pieces``, the result and the errors.
    """
    lines = collect_lines(texts, dummy_prefix=adds_dummy_prefix(like), on_text=on_text)
    return train_from_lines(lines, vocab_size, kind, like=like, special_pieces=special_pieces)


def write_tokenizer_json(directory: Path, *, pipeline_from: Path | None = None) -> Any:
    """Write ``tokenizer.json`` converted by transformers from the directory's SentencePiece model and config.

    The fast tokenizer then loads without converting the model again, and agrees with it: transformers builds
    it the same way it would from ``tokenizer.model`` alone. Returns the loaded tokenizer.

    :param pipeline_from: the base's ``tokenizer.json``, if it has one: its normaliser, pre-tokenizer and
        decoder (which hold no ids) replace the converted ones, so text reaches the new model as it reached
        the base's (a generic fast tokenizer loads them as they are; a converter may have built others).
    """
    from transformers import AutoTokenizer

    (directory / "tokenizer.json").unlink(missing_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(directory), trust_remote_code=False)
    backend = tokenizer.backend_tokenizer
    if pipeline_from is not None and pipeline_from.is_file():
        from tokenizers import Tokenizer

        base = Tokenizer.from_file(str(pipeline_from))
        if type(base.model) is type(backend.model):
            backend.normalizer = base.normalizer
            backend.pre_tokenizer = base.pre_tokenizer
            backend.decoder = base.decoder
    backend.save(str(directory / "tokenizer.json"))
    return tokenizer


def check_fast_matches_model(
    directory: Path, model: bytes, texts: Iterable[str], *, base: tuple[bytes, Any] | None = None, fast: Any = None
) -> None:
    """Raise ``AssertionError`` (a bug) where the fast tokenizer in ``directory`` segments a text unlike ``model``.

    :param base: ``(base model bytes, base fast tokenizer)``: texts the base's own fast and slow tokenizers
        already split differently are skipped (transformers merges LLaMA-2's runs of spaces in another order).
    :param fast: ``directory`` already loaded by ``AutoTokenizer`` (e.g. by
        :func:`~ru_llm.tokenize.produced.verify_tokenizer`); loaded here otherwise.
    """
    import sentencepiece

    if fast is None:
        from transformers import AutoTokenizer

        fast = AutoTokenizer.from_pretrained(str(directory), trust_remote_code=False)
    slow = sentencepiece.SentencePieceProcessor(model_proto=model)
    base_slow = sentencepiece.SentencePieceProcessor(model_proto=base[0]) if base is not None else None
    for text in texts:
        if base is not None and base_slow.encode(text) != base[1].encode(text, add_special_tokens=False):
            continue
        if slow.encode(text) != fast.encode(text, add_special_tokens=False):
            raise AssertionError(f"tokenizer {directory}: tokenizer.json splits {text!r} unlike tokenizer.model")
