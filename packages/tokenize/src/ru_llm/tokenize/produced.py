"""Checks every tokenizer this package writes passes before it is moved into place.

``extend``, ``replace`` and ``train`` all end with :func:`verify_tokenizer` on their work directory: a
failure there is a bug in ru-llm (or a base we cannot reproduce), never a half-written output.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ru_llm.core.atomic import check_output_dir
from ru_llm.tokenize.stats import CYRILLIC

# Russian, English, code, emoji and mixed text: decode(encode(x)) must give each back unchanged.
ROUND_TRIP_SAMPLES = (
    "Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "The quick brown fox jumps over the lazy dog; naïve café résumé.",
    "def f(x):\n    return {'ключ': x ** 2}  # комментарий\n",
    "Emoji 🙂👍🏽 and mixed: Москва-2024, iPhone-ы, ЁЛКИ ёлки, Ѣ ѣ Ї ї.",
)


# Files a model directory holds beside its tokenizer: a tokenizer output never takes them along.
MODEL_FILE_PATTERNS = (
    "config.json",
    "generation_config.json",
    "*.safetensors",
    "*.safetensors.index.json",
    "*.bin",
    "*.bin.index.json",
    "*.pt",
    "*.pth",
    "*.ckpt",
    "*.gguf",
    "*.h5",
    "*.msgpack",
)


def is_model_file(path: Path) -> bool:
    """Whether ``path`` is model weights or model config rather than a tokenizer file."""
    return any(path.match(pattern) for pattern in MODEL_FILE_PATTERNS)


def tokenizer_files(base_dir: Path, *, skip: Iterable[str] = ()) -> list[Path]:
    """The base directory's plain files that belong to its tokenizer (no model files, no hidden files)."""
    skipped = set(skip)
    return [
        item
        for item in sorted(Path(base_dir).expanduser().iterdir())
        if item.is_file() and not item.name.startswith(".") and item.name not in skipped and not is_model_file(item)
    ]


def copy_tokenizer_files(base_dir: Path, out_dir: Path, *, skip: Iterable[str] = ()) -> None:
    """Copy :func:`tokenizer_files` into ``out_dir``: the files a producer writes anew go in ``skip``."""
    import shutil

    for item in tokenizer_files(base_dir, skip=skip):
        shutil.copy2(item, Path(out_dir) / item.name)


def has_cyrillic_text(text: str) -> bool:
    """Whether ``text`` holds a character of the Cyrillic block (U+0400–U+04FF)."""
    return CYRILLIC.search(text) is not None


def check_out_dir(out_dir: Path, overwrite: bool, base_dir: Path | None = None) -> None:
    """Core's output-directory rule (:func:`ru_llm.core.atomic.check_output_dir`) with the base as an input:
    an output directory that is or holds the base is refused, and ``overwrite`` replaces only a directory
    that ru-llm made."""
    inputs = [Path(base_dir).expanduser()] if base_dir is not None else []
    check_output_dir(Path(out_dir).expanduser(), overwrite=overwrite, inputs=inputs)


def _round_trips(tokenizer: Any, text: str) -> bool:
    return tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text


def _special_strings(tokenizer: Any) -> dict[str, str | None]:
    return {
        "bos_token": tokenizer.bos_token,
        "eos_token": tokenizer.eos_token,
        "pad_token": tokenizer.pad_token,
        "unk_token": tokenizer.unk_token,
    }


def verify_tokenizer(
    out_dir: Path, base_dir: Path | None = None, *, keeps_base_ids: bool = False, base_tokenizer: Any = None
) -> Any:
    """Load ``out_dir`` with ``AutoTokenizer`` and check what every produced tokenizer promises.

    * every sample of :data:`ROUND_TRIP_SAMPLES` round-trips (with a base: every sample the base round-trips);
    * with a base: the same special-token strings, each still one token; the same chat template and
      padding side;
    * ``keeps_base_ids`` (extend): every base token keeps its id, and text without Cyrillic gives exactly
      the base's ids.

    :param base_tokenizer: ``base_dir`` already loaded by ``AutoTokenizer`` (only read here): the commands
        load the base before reading any corpus, and a 150k-token base takes a second to load again.

    Returns the loaded tokenizer. Raises ``AssertionError`` (a bug, not a user error) when a check fails.
    """
    from transformers import AutoTokenizer

    new = AutoTokenizer.from_pretrained(str(out_dir), trust_remote_code=False)
    base = base_tokenizer
    if base is None and base_dir is not None:
        base = AutoTokenizer.from_pretrained(str(base_dir), trust_remote_code=False)
    for text in ROUND_TRIP_SAMPLES:
        if (base is None or _round_trips(base, text)) and not _round_trips(new, text):
            raise AssertionError(f"tokenizer {out_dir} does not round-trip {text!r}")
    if base is None:
        return new
    if _special_strings(new) != _special_strings(base):
        raise AssertionError(f"tokenizer {out_dir}: special tokens {_special_strings(new)} != the base's")
    for token in base.all_special_tokens:
        if len(new.encode(token, add_special_tokens=False)) != 1:
            raise AssertionError(f"tokenizer {out_dir}: special token {token!r} is no longer one token")
    if getattr(new, "chat_template", None) != getattr(base, "chat_template", None):
        raise AssertionError(f"tokenizer {out_dir}: the chat template differs from the base's")
    if new.padding_side != base.padding_side:
        raise AssertionError(f"tokenizer {out_dir}: padding side {new.padding_side} != {base.padding_side}")
    if keeps_base_ids:
        new_vocab = new.get_vocab()
        moved = [token for token, i in base.get_vocab().items() if new_vocab.get(token) != i]
        if moved:
            raise AssertionError(f"tokenizer {out_dir}: {len(moved)} base tokens changed id, e.g. {moved[:3]}")
        for text in ROUND_TRIP_SAMPLES:
            if not has_cyrillic_text(text) and new.encode(text) != base.encode(text):
                raise AssertionError(f"tokenizer {out_dir} splits {text!r} differently from the base")
    return new
