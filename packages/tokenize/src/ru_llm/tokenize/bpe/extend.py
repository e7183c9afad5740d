"""Extend a byte-level BPE tokenizer (Qwen2/2.5/3, LLaMA-3, Mistral-Nemo) with Russian merges.

New tokens come from new merges ranked after every base merge, so the ordinary BPE process makes them:
a pre-token is first split exactly as the base splits it, then the new merges continue from there. Every
new merge's string holds a Cyrillic lead byte, so text without Cyrillic tokenizes exactly as with the base.

Learning continues BPE from the base segmentation: each distinct base token in the corpus becomes one
private-use character, the Rust ``tokenizers`` BpeTrainer learns merges over those characters, and the
merges are mapped back to base-token strings.
"""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ru_llm.core.atomic import atomic_directory
from ru_llm.core.errors import ConfigError, RuLLMError
from ru_llm.tokenize.produced import check_out_dir, copy_tokenizer_files, verify_tokenizer

# Byte-level BPE writes byte b as a printable character; these are the UTF-8 lead bytes D0–D3, which
# start U+0400–U+04FF (Cyrillic) and nothing else. A string holding one comes only from Cyrillic text.
CYRILLIC_LEAD = frozenset("ÐÑÒÓ")
# The trainer sees each pre-token repeated in proportion to its weight, this many times in all at most.
MAX_OCCURRENCES = 20_000_000
# More new tokens than this is a typo: the learners would try to allocate it and die without a message.
MAX_NEW_TOKENS = 1 << 20
# Private-use planes 15 and 16: one character per distinct base token seen in the corpus.
PRIVATE_USE = [*range(0xF0000, 0xFFFFE), *range(0x100000, 0x10FFFE)]

SENTENCEPIECE_HINT = (
    "use a byte-level BPE base (Qwen2/2.5/3, LLaMA-3, Mistral-Nemo), or a SentencePiece BPE base "
    "(LLaMA-2, Mistral-7B) with its tokenizer.model"
)


def has_cyrillic(byte_level: str) -> bool:
    """Whether a byte-level string holds a Cyrillic character (or the start of one)."""
    return not CYRILLIC_LEAD.isdisjoint(byte_level)


def _is_byte_level(component: dict[str, Any] | None) -> bool:
    if not component:
        return False
    if component.get("type") == "ByteLevel":
        return True
    return any(_is_byte_level(c) for c in component.get("pretokenizers", component.get("decoders", [])) or [])


def check_byte_level_bpe(tokenizer_json: dict[str, Any], where: str) -> None:
    """Raise :class:`RuLLMError` unless ``tokenizer_json`` is a byte-level BPE (SentencePiece gets its own line).

    ``ru-llm tokenize extend`` sends a directory with a ``tokenizer.model`` to
    :mod:`ru_llm.tokenize.sentencepiece.extend` first; a SentencePiece-style ``tokenizer.json`` reaching this
    check came without its model.
    """
    model = tokenizer_json.get("model") or {}
    pre = tokenizer_json.get("pre_tokenizer")
    if model.get("type") == "Unigram" or model.get("byte_fallback") or (pre or {}).get("type") == "Metaspace":
        raise RuLLMError(
            f"tokenizer {where}: is a SentencePiece-style tokenizer.json, not a byte-level BPE; SentencePiece "
            "extension needs the base's tokenizer.model",
            hint="put the base's tokenizer.model beside its tokenizer.json (extend then adds SentencePiece pieces)",
        )
    if model.get("type") != "BPE" or not _is_byte_level(pre) or not _is_byte_level(tokenizer_json.get("decoder")):
        raise RuLLMError(
            f"tokenizer {where}: not a byte-level BPE (model {model.get('type')!r}, no ByteLevel pre-tokenizer "
            "and decoder)",
            hint=SENTENCEPIECE_HINT,
        )
    if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix") or model.get("dropout"):
        raise RuLLMError(
            f"tokenizer {where}: BPE with subword prefixes, suffixes or dropout is not supported",
            hint=SENTENCEPIECE_HINT,
        )


def merge_pair(merge: str | list[str]) -> tuple[str, str]:
    """A ``tokenizer.json`` merge, old (``"a b"``) or new (``["a", "b"]``) format, as a pair."""
    if isinstance(merge, str):
        left, _, right = merge.partition(" ")
        return left, right
    return merge[0], merge[1]


@dataclass
class BpeExtension:
    """What :func:`learn_bpe_extension` learned: merges in rank order, and the new tokens they make."""

    merges: list[tuple[str, str]]
    new_tokens: list[str]
    pre_tokens: int  # distinct Cyrillic pre-tokens in the corpus
    learnable: bool  # False when the corpus ran out of pairs before the requested number of tokens


def bare_model(tokenizer_json: dict[str, Any]) -> Any:
    """The base BPE model alone: encoding a byte-level pre-token gives its base tokens.

    Built from the parsed vocabulary and merges directly: writing a 150k-token model back to JSON for
    ``Tokenizer.from_str`` took three times as long.
    """
    from tokenizers import Tokenizer, models

    model = tokenizer_json["model"]
    options = ("dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix")  # absent when null
    flags = ("fuse_unk", "byte_fallback", "ignore_merges")
    bpe = models.BPE(
        vocab=model["vocab"],
        merges=[merge_pair(m) for m in model["merges"]],
        **{key: model[key] for key in options if model.get(key) is not None},
        **{key: bool(model.get(key)) for key in flags},
    )
    return Tokenizer(bpe)


def count_pre_tokens(
    tokenizer_json: dict[str, Any],
    texts: Iterable[tuple[str, float]],
    *,
    keep: Callable[[str], bool] | None = has_cyrillic,
    on_text: Callable[[], None] | None = None,
) -> Counter[str]:
    """Weighted counts of the distinct byte-level pre-tokens, by ``tokenizer_json``'s normalizer and pre-tokenizer.

    :param keep: which pre-tokens to count (default: those holding Cyrillic, all an extension can change);
        ``None`` counts every one, as a whole new vocabulary needs.
    """
    from tokenizers import Tokenizer

    # Only the normalizer and pre-tokenizer run: an empty model keeps this cheap for any base.
    empty_model = {**tokenizer_json.get("model", {}), "type": "BPE", "vocab": {}, "merges": []}
    pipeline = Tokenizer.from_str(json.dumps({**tokenizer_json, "added_tokens": [], "model": empty_model}))
    normalizer, pre_tokenizer = pipeline.normalizer, pipeline.pre_tokenizer
    counts: Counter[str] = Counter()
    for text, weight in texts:
        if normalizer is not None:
            text = normalizer.normalize_str(text)
        for piece, _ in pre_tokenizer.pre_tokenize_str(text):
            if keep is None or keep(piece):
                counts[piece] += weight
        if on_text is not None:
            on_text()
    return counts


def _runs(tokens: list[str]) -> list[list[str]]:
    """Split base tokens where neither neighbour holds Cyrillic: no merge may join two such tokens."""
    runs: list[list[str]] = []
    current: list[str] = []
    previous_cyrillic = True
    for token in tokens:
        cyrillic = not CYRILLIC_LEAD.isdisjoint(token)
        if current and not cyrillic and not previous_cyrillic:
            runs.append(current)
            current = []
        current.append(token)
        previous_cyrillic = cyrillic
    runs.append(current)
    return [run for run in runs if len(run) > 1]


def base_segment_runs(tokenizer_json: dict[str, Any], pre_tokens: Counter[str]) -> Counter[tuple[str, ...]]:
    """Weighted counts of the mergeable runs of base tokens the base BPE splits the pre-tokens into."""
    model = bare_model(tokenizer_json)
    id_to_token = {i: token for token, i in tokenizer_json["model"]["vocab"].items()}
    pieces = list(pre_tokens)
    runs: Counter[tuple[str, ...]] = Counter()
    step = 65536
    for start in range(0, len(pieces), step):
        batch = pieces[start : start + step]
        for piece, encoding in zip(batch, model.encode_batch_fast(batch, add_special_tokens=False), strict=True):
            weight = pre_tokens[piece]
            for run in _runs([id_to_token[i] for i in encoding.ids]):
                runs[tuple(run)] += weight
    return runs


def repeat_counts(weights: dict[str, float], max_occurrences: int, seed: int = 0) -> dict[str, int]:
    """Integer counts proportional to ``weights``; rare items are rounded at random, so totals stay unbiased."""
    if not weights:
        return {}
    total = sum(weights.values())
    unit = max(min(1.0, min(weights.values())), total / max_occurrences)
    rng = random.Random(seed)
    counts = {}
    for item, weight in weights.items():
        scaled = weight / unit
        whole = int(scaled)
        count = whole + (rng.random() < scaled - whole)
        if count:
            counts[item] = count
    return counts


def train_merges(words: dict[str, int], merges: int) -> list[tuple[str, str]]:
    """BPE merges over the characters of ``words`` with the Rust trainer; each word is fed ``count`` times.

    Every character is a symbol: the extension maps base tokens to private-use characters first.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    alphabet = {c for word in words for c in word}
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(
        vocab_size=len(alphabet) + merges, min_frequency=1, show_progress=False, limit_alphabet=len(alphabet)
    )

    def batches() -> Iterable[str]:
        for word, count in words.items():
            while count > 0:
                repeat = min(count, 1 << 16)
                yield (word + " ") * repeat
                count -= repeat

    tokenizer.train_from_iterator(batches(), trainer=trainer)
    learned = json.loads(tokenizer.to_str())["model"]["merges"]
    return [merge_pair(m) for m in learned]


def check_new_tokens(new_tokens: int) -> None:
    """A :class:`ConfigError` for a number of new tokens below 1 or absurdly large."""
    if not 1 <= new_tokens <= MAX_NEW_TOKENS:
        raise ConfigError(f"new_tokens={new_tokens}: must be between 1 and {MAX_NEW_TOKENS:,}")


def learn_bpe_extension(
    tokenizer_json: dict[str, Any],
    texts: Iterable[tuple[str, float]],
    new_tokens: int,
    *,
    max_occurrences: int = MAX_OCCURRENCES,
    on_text: Callable[[], None] | None = None,
) -> BpeExtension:
    """Learn merges after the base merges that make up to ``new_tokens`` new Cyrillic tokens from ``texts``.

    :param texts: ``(text, weight)`` pairs, e.g. from :func:`ru_llm.tokenize.corpus.weighted_texts`.
    """
    pre_tokens = count_pre_tokens(tokenizer_json, texts, on_text=on_text)
    runs = base_segment_runs(tokenizer_json, pre_tokens)
    base_tokens = sorted({token for run in runs for token in run})
    if len(base_tokens) > len(PRIVATE_USE):  # pragma: no cover - more than 130,000 distinct base tokens
        raise RuLLMError(f"the corpus holds {len(base_tokens)} distinct base tokens; at most {len(PRIVATE_USE)} fit")
    to_private = {token: chr(PRIVATE_USE[i]) for i, token in enumerate(base_tokens)}
    from_private = {c: token for token, c in to_private.items()}
    words = repeat_counts(
        {"".join(to_private[t] for t in run): weight for run, weight in runs.items()}, max_occurrences
    )

    vocab = tokenizer_json["model"]["vocab"]
    base_merges = {merge_pair(m) for m in tokenizer_json["model"]["merges"]}
    # Some learned merges make a string the base vocabulary already has; those cost no id, so learn a margin.
    ask = new_tokens + new_tokens // 10 + 64
    while True:
        learned = train_merges(words, ask) if words else []
        merges: list[tuple[str, str]] = []
        added: list[str] = []
        seen = set(vocab)
        for left_private, right_private in learned:
            left = "".join(from_private[c] for c in left_private)
            right = "".join(from_private[c] for c in right_private)
            merged = left + right
            if (left, right) in base_merges or not has_cyrillic(merged):
                continue  # cannot happen after the base segmentation and the run split; kept as a guard
            if merged not in seen:
                if len(added) == new_tokens:
                    break
                added.append(merged)
                seen.add(merged)
            merges.append((left, right))
        exhausted = len(learned) < ask
        if len(added) == new_tokens or exhausted:
            return BpeExtension(merges, added, len(pre_tokens), learnable=len(added) == new_tokens)
        ask += new_tokens - len(added) + 64


def learn_full_extension(
    tokenizer_json: dict[str, Any],
    texts: Iterable[tuple[str, float]],
    new_tokens: int,
    *,
    on_text: Callable[[], None] | None = None,
) -> BpeExtension:
    """:func:`learn_bpe_extension` of exactly ``new_tokens``, or a one-line error saying what the corpus lacks."""
    extension = learn_bpe_extension(tokenizer_json, texts, new_tokens, on_text=on_text)
    if not extension.pre_tokens:
        raise RuLLMError("the corpus has no Cyrillic words to learn from", hint="pass Russian text or wordfreq:ru")
    if not extension.learnable:
        supported = len(extension.new_tokens)
        raise RuLLMError(
            f"{new_tokens} new tokens: the corpus supports only {supported} "
            f"({extension.pre_tokens} distinct Cyrillic words)",
            hint=f"ask for {supported} new tokens or fewer, or use a larger corpus (e.g. add wordfreq:ru)",
        )
    return extension


def copy_for_model_edit(tokenizer_json: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``tokenizer_json`` whose model vocabulary and merge list may be changed in place.

    Everything but the model is deep-copied; the model gets a new vocabulary dict and merge list, whose
    strings and merge pairs are shared, never changed. A ``copy.deepcopy`` of a 150k-token vocabulary and
    its merges took seconds; this takes a fraction of one.
    """
    copied = {key: copy.deepcopy(value) for key, value in tokenizer_json.items() if key != "model"}
    model = tokenizer_json["model"]
    copied["model"] = {
        **{key: copy.deepcopy(value) for key, value in model.items() if key not in ("vocab", "merges")},
        "vocab": dict(model["vocab"]),
        "merges": list(model["merges"]),
    }
    return copied


def extended_tokenizer_json(tokenizer_json: dict[str, Any], extension: BpeExtension) -> dict[str, Any]:
    """The base ``tokenizer.json`` with the new merges after its merges and new ids after its highest id."""
    extended = copy_for_model_edit(tokenizer_json)
    model = extended["model"]
    vocab: dict[str, int] = model["vocab"]
    added_ids = [t["id"] for t in extended.get("added_tokens", [])]
    next_id = max([*vocab.values(), *added_ids]) + 1
    # `tokenizers` numbers added tokens missing from the model vocabulary after the model's last id, which
    # the new tokens would shift; listed in the model vocabulary, each keeps its own id. BPE never makes
    # them (no merge builds their strings), and the added-token matcher still finds them in text.
    for token in extended.get("added_tokens", []):
        vocab.setdefault(token["content"], token["id"])
    for token in extension.new_tokens:
        vocab[token] = next_id
        next_id += 1
    old_format = bool(model["merges"]) and isinstance(model["merges"][0], str)
    model["merges"].extend(f"{a} {b}" if old_format else [a, b] for a, b in extension.merges)
    return extended


def read_tokenizer_json(base_dir: str | Path) -> dict[str, Any]:
    """The base directory's byte-level BPE ``tokenizer.json``; one-line errors for a missing or other tokenizer.

    SentencePiece bases (a ``tokenizer.model``) are :mod:`ru_llm.tokenize.sentencepiece.extend`'s: see
    :func:`uses_sentencepiece`. Shared with later reads of the unchanged file (:func:`load_json_once`): treat
    it as read-only.
    """
    data = parse_tokenizer_json(base_dir)
    check_byte_level_bpe(data, str(base_dir))
    return data


# Parsed tokenizer.json files by (path, inode, size, mtime): a command reads its base several times (the base
# checks, the trainer's fits_base, min_vocab_size and train); parsing 5-10 MB of JSON takes 0.3-0.5 s each.
_PARSED: dict[tuple[str, int, int, int], dict[str, Any]] = {}
_PARSED_KEPT = 2


def load_json_once(path: Path) -> Any:
    """``path`` parsed as JSON, the same object again while the file is unchanged in this process.

    The result is shared: read it, or copy before changing it (:func:`copy_for_model_edit`). Raises what
    ``Path.read_text`` and ``json.loads`` raise.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _PARSED:
        _PARSED[key] = json.loads(path.read_text(encoding="utf-8"))
        while len(_PARSED) > _PARSED_KEPT:
            del _PARSED[next(iter(_PARSED))]  # the oldest
    return _PARSED[key]


def parse_tokenizer_json(base_dir: str | Path) -> dict[str, Any]:
    """The base directory's ``tokenizer.json``, parsed (one-line errors for a missing or broken file), unchecked.

    Shared with later reads of the unchanged file (:func:`load_json_once`): treat it as read-only.
    """
    from ru_llm.tokenize.loading import base_directory, has_sentencepiece_model

    hint = "pass a local directory holding the base model's tokenizer.json"
    base = base_directory(base_dir, hint)
    path = base / "tokenizer.json"
    if not path.is_file():
        if has_sentencepiece_model(base):
            raise RuLLMError(
                f"base {base_dir}: is a SentencePiece tokenizer (no tokenizer.json), not a byte-level BPE",
                hint="extend it with ru_llm.tokenize.sentencepiece.extend.extend_sentencepiece_bpe "
                "(the CLI picks it itself)",
            )
        raise RuLLMError(f"base {base_dir}: the directory has no tokenizer.json", hint=hint)
    try:
        data = load_json_once(path)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RuLLMError(f"base {path}: not a valid tokenizer.json ({error})", hint=hint) from error
    return data


def has_byte_level_tokenizer_json(base_dir: str | Path) -> bool:
    """Whether the directory's ``tokenizer.json`` exists, parses and is a byte-level BPE."""
    path = Path(base_dir).expanduser() / "tokenizer.json"
    try:
        check_byte_level_bpe(load_json_once(path), str(base_dir))
    except (OSError, ValueError, RuLLMError):
        return False
    return True


def uses_sentencepiece(base_dir: str | Path) -> bool:
    """Whether ``extend`` treats the base as SentencePiece (:mod:`ru_llm.tokenize.sentencepiece.extend`): a
    ``tokenizer.model`` and no byte-level ``tokenizer.json``.

    A LLaMA-2 directory from the hub holds both, its ``tokenizer.json`` being a converted SentencePiece one.
    Here, beside the byte-level check, so that neither ``bpe`` nor ``sentencepiece`` imports the other back.
    """
    from ru_llm.tokenize.loading import has_sentencepiece_model

    base = Path(base_dir).expanduser()
    return base.is_dir() and has_sentencepiece_model(base) and not has_byte_level_tokenizer_json(base)


def write_extended_tokenizer(base_dir: str | Path, out_dir: Path, tokenizer_json: dict[str, Any]) -> None:
    """Copy the base's tokenizer files, then write the extended ``tokenizer.json`` (and slow files)."""
    base = Path(base_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_tokenizer_files(base, out_dir, skip=("tokenizer.json", "vocab.json", "merges.txt"))
    (out_dir / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False, indent=2), "utf-8")
    write_slow_files(base, out_dir, tokenizer_json["model"]["vocab"], tokenizer_json["model"]["merges"])


def write_slow_files(base: Path, out_dir: Path, vocab: dict[str, int], merges: list[Any]) -> None:
    """GPT-2-style ``vocab.json``/``merges.txt``, where the base ships them, rewritten to agree with tokenizer.json."""
    if (base / "vocab.json").is_file():
        (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), "utf-8")
    if (base / "merges.txt").is_file():
        lines = ["#version: 0.2", *(" ".join(merge_pair(m)) for m in merges)]
        (out_dir / "merges.txt").write_text("\n".join(lines) + "\n", "utf-8")


@dataclass
class ExtendReport:
    """What ``ru-llm tokenize extend`` did, for its summary table and ``--json``."""

    base: str
    out_dir: str
    base_vocab: int
    new_tokens: int
    new_merges: int
    first_new_id: int | None
    pre_tokens: int
    seconds: float
    examples: list[str]

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def extend_byte_level_bpe(
    base_dir: str | Path,
    texts: Iterable[tuple[str, float]],
    new_tokens: int,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    on_text: Callable[[], None] | None = None,
    base_tokenizer: Any = None,
) -> ExtendReport:
    """Learn ``new_tokens`` Russian tokens as merges on top of a byte-level BPE base and save the tokenizer.

    Writes to a temp dir beside ``out_dir`` and renames it into place: a failure leaves nothing half-written.

    :param base_tokenizer: the base already loaded by ``AutoTokenizer`` (as :func:`ru_llm.tokenize.extend.check_base`
        loads it), so the final check does not load it again.
    """
    import time

    start = time.perf_counter()
    base = Path(base_dir).expanduser()
    out = Path(out_dir).expanduser()
    tokenizer_json = read_tokenizer_json(base)
    check_new_tokens(new_tokens)
    check_out_dir(out, overwrite, base)
    extension = learn_full_extension(tokenizer_json, texts, new_tokens, on_text=on_text)
    extended = extended_tokenizer_json(tokenizer_json, extension)
    vocab = extended["model"]["vocab"]
    with atomic_directory(out, command="tokenize extend") as work:
        write_extended_tokenizer(base, work, extended)
        verify_tokenizer(work, base, keeps_base_ids=True, base_tokenizer=base_tokenizer)
    from tokenizers.decoders import ByteLevel

    decode = ByteLevel().decode
    return ExtendReport(
        base=str(base_dir),
        out_dir=str(out),
        base_vocab=len(tokenizer_json["model"]["vocab"]),
        new_tokens=len(extension.new_tokens),
        new_merges=len(extension.merges),
        first_new_id=vocab[extension.new_tokens[0]] if extension.new_tokens else None,
        pre_tokens=extension.pre_tokens,
        seconds=round(time.perf_counter() - start, 3),
        examples=[decode([t]) for t in extension.new_tokens[:10]],
    )
