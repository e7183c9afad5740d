"""Replace a base tokenizer's vocabulary with one learned from a corpus, keeping its special tokens and chat template.

The new vocabulary is learned whole by a registered trainer (the first whose ``fits_base`` accepts the base,
unless one is named), so every id changes; the special tokens keep their strings and flags, and
``tokenizer_config.json`` (chat template, padding side) is carried over. ``ru-llm tokenize resize-model``
then gives every token the base also has its old embedding row (matched by string) and initialises the
others from the base's sub-tokens.

:func:`copy_base_files` is the part every trainer shares: it carries the base's other files over with their
token ids rewritten.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.atomic import atomic_directory
from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.produced import tokenizer_files
from ru_llm.tokenize.trainers import TokenizerTrainer

# Files each trainer writes itself: never copied from the base.
_WRITTEN_BY_TRAINERS = ("tokenizer.json", "vocab.json", "merges.txt")
_GENERATION_ID_KEYS = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id")
# Beyond this a typo, not a vocabulary: the learners would try to allocate it and die without a message.
MAX_VOCAB_SIZE = 1 << 20


def copy_base_files(
    base_dir: Path,
    out_dir: Path,
    *,
    old_tokens: dict[int, str],
    new_ids: dict[str, int],
    skip: Iterable[str] = (),
) -> None:
    """Copy the base's tokenizer files to ``out_dir``, every token id in them pointed at the same string's new id.

    ``tokenizer_config.json``'s ``added_tokens_decoder``, a legacy ``added_tokens.json`` and
    ``generation_config.json``'s bos/eos/pad ids are rewritten; an id whose token the new vocabulary lacks
    is dropped (transformers then falls back on the token strings, which are kept). Model weights and
    ``config.json`` stay behind; ``tokenizer.json``, ``vocab.json``, ``merges.txt`` and the names in
    ``skip`` are the trainer's to write.

    :param old_tokens: every base id and its token string (model vocabulary and added tokens).
    :param new_ids: every token string of the new vocabulary and its id.
    """
    skipped = {*_WRITTEN_BY_TRAINERS, *skip}
    generation = Path(base_dir) / "generation_config.json"
    if generation.is_file():  # a model file, but its ids are the tokenizer's: carried over, remapped
        _write_json(out_dir / generation.name, _remap_generation_config(generation, old_tokens, new_ids))
    for item in tokenizer_files(base_dir, skip=skipped):
        if item.name == "tokenizer_config.json":
            config = json.loads(item.read_text(encoding="utf-8"))
            if isinstance(config.get("added_tokens_decoder"), dict):
                decoder = {}
                for token in config["added_tokens_decoder"].values():
                    if token.get("content") in new_ids:
                        decoder[str(new_ids[token["content"]])] = token
                config["added_tokens_decoder"] = dict(sorted(decoder.items(), key=lambda item: int(item[0])))
            _write_json(out_dir / item.name, config)
        elif item.name == "added_tokens.json":  # the legacy {token: id} file of slow tokenizers
            added = json.loads(item.read_text(encoding="utf-8"))
            _write_json(out_dir / item.name, {token: new_ids[token] for token in added if token in new_ids})
        else:
            shutil.copy2(item, out_dir / item.name)


def _remap_generation_config(path: Path, old_tokens: dict[int, str], new_ids: dict[str, int]) -> dict[str, Any]:
    config = json.loads(path.read_text(encoding="utf-8"))

    def new_id(old: Any) -> Any:
        if not isinstance(old, int):
            return old
        return new_ids.get(old_tokens.get(old, ""))

    for key in _GENERATION_ID_KEYS:
        value = config.get(key)
        if isinstance(value, list):
            mapped = [i for i in dict.fromkeys(new_id(v) for v in value) if i is not None]
            config[key] = mapped
        elif value is not None:
            mapped_one = new_id(value)
            if mapped_one is None:
                del config[key]
            else:
                config[key] = mapped_one
    return config


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def pick_trainer(base_dir: Path, name: str | None = None) -> TokenizerTrainer:
    """The trainer named ``name`` if it fits the base, else the first registered one that fits it."""
    from ru_llm.tokenize.registry import tokenizer_trainers

    registry = tokenizer_trainers()
    if name is not None:
        trainer = registry.get(name)
        if trainer.fits_base(base_dir):
            return trainer
        fitting = [entry.name for entry in registry.entries() if entry.obj.fits_base(base_dir)]
        raise RuLLMError(
            f"trainer {name!r}: cannot learn a vocabulary of the same kind as the base {base_dir}",
            hint=f"trainers that fit this base: {', '.join(fitting)}" if fitting else "no registered trainer fits it",
        )
    for trainer in registry:
        if trainer.fits_base(base_dir):
            return trainer
    raise RuLLMError(
        f"base {base_dir}: no registered trainer can learn a vocabulary of this tokenizer's kind",
        hint=f"trainers: {', '.join(registry.names())}; byte-level BPE and SentencePiece bases are supported",
    )


def check_vocab_size(trainer: TokenizerTrainer, vocab_size: int, base_dir: Path | None, special: list[str]) -> None:
    """Refuse a vocabulary size below 1 or below what the trainer needs for its fixed tokens, before any reading."""
    if vocab_size > MAX_VOCAB_SIZE:
        raise RuLLMError(
            f"vocabulary size {vocab_size}: more than {MAX_VOCAB_SIZE:,}, far beyond any model's vocabulary",
            hint="ask for a size like 32000, 64000 or 128000",
        )
    least = max(1, trainer.min_vocab_size(base_dir=base_dir, special_tokens=special))
    if vocab_size < least:
        raise RuLLMError(
            f"vocabulary size {vocab_size}: the {trainer.name} trainer needs at least {least}"
            + (" (its byte, special and added tokens)" if least > 1 else ""),
            hint=f"ask for {least} or more (a useful Russian vocabulary has 16,000 or more)",
        )


@dataclass
class ReplaceReport:
    """What ``ru-llm tokenize replace`` did, for its summary table and ``--json``."""

    base: str
    out_dir: str
    trainer: str
    vocab_size: int  # the new vocabulary, special tokens included
    base_vocab: int
    kept_base_tokens: int  # base tokens (by string) the new vocabulary also has: resize-model keeps their rows
    special_tokens: list[str]
    texts: int
    seconds: float
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def replace_vocabulary(
    base_dir: str | Path,
    texts: Iterable[tuple[str, float]],
    vocab_size: int,
    out_dir: str | Path,
    *,
    trainer: str | None = None,
    overwrite: bool = False,
    on_text: Callable[[], None] | None = None,
) -> ReplaceReport:
    """Learn a new ``vocab_size`` vocabulary from ``texts`` in the base's kind, and write it to ``out_dir``.

    Writes to a temp dir beside ``out_dir``, checks it with :func:`~ru_llm.tokenize.produced.verify_tokenizer`
    against the base and renames it into place: a failure leaves nothing half-written.
    """
    from ru_llm.tokenize.loading import check_base_tokenizer
    from ru_llm.tokenize.produced import check_out_dir, verify_tokenizer

    start = time.perf_counter()
    base = Path(base_dir).expanduser()
    out = Path(out_dir).expanduser()
    base_tokenizer = check_base_tokenizer(base)
    old_vocab = base_tokenizer.get_vocab()
    check_out_dir(out, overwrite, base)
    chosen = pick_trainer(base, trainer)
    check_vocab_size(chosen, vocab_size, base, [])
    with atomic_directory(out, command="tokenize replace") as work:
        learned = chosen.train(texts, vocab_size, work, base_dir=base, on_text=on_text)
        new = verify_tokenizer(work, base, base_tokenizer=base_tokenizer)
    new_vocab = new.get_vocab()
    return ReplaceReport(
        base=str(base_dir),
        out_dir=str(out),
        trainer=chosen.name,
        vocab_size=len(new),
        base_vocab=len(old_vocab),
        kept_base_tokens=len(old_vocab.keys() & new_vocab.keys()),
        special_tokens=learned.special_tokens,
        texts=learned.texts,
        seconds=round(time.perf_counter() - start, 3),
        examples=learned.examples,
    )
