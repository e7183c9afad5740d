"""Tokenizer directories for the commands that rewrite them: a hub id fetched to a directory, base checks.

Loading a tokenizer is core's :func:`ru_llm.core.hf.load_tokenizer`, re-exported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ru_llm.core.errors import RuLLMError, first_line
from ru_llm.core.hf import LOCAL_HINT, TOKENIZER_FILES, is_hub_id, load_tokenizer  # the last is re-exported

# SentencePiece model files, by the names Hugging Face directories use (LLaMA/Mistral, T5, XLM-R); first wins.
SENTENCEPIECE_MODEL_FILES = ("tokenizer.model", "spiece.model", "sentencepiece.bpe.model")

# What `extend` and `replace` fetch for a hub id: every file a tokenizer may keep its state in, no weights.
HUB_TOKENIZER_FILES = (
    *TOKENIZER_FILES,
    "merges.txt",
    "added_tokens.json",
    "special_tokens_map.json",
    "chat_template.json",
    "*.jinja",
    "generation_config.json",
)


def base_directory(base_dir: str | Path, hint: str) -> Path:
    """``--base`` as a path, with a one-line error when it is a file or does not exist."""
    base = Path(base_dir).expanduser()
    if not base.is_dir():
        raise RuLLMError(
            f"base {base_dir}: {'is a file, not a directory' if base.exists() else 'no such directory'}", hint=hint
        )
    return base


def has_sentencepiece_model(directory: Path) -> bool:
    """Whether ``directory`` holds a SentencePiece model file."""
    return any((directory / name).is_file() for name in SENTENCEPIECE_MODEL_FILES)


def tokenizer_dir(path_or_hub_id: str | Path) -> Path:
    """A local directory holding a tokenizer: ``path_or_hub_id`` itself, or the hub's tokenizer files for an id.

    Commands that rewrite a tokenizer's files (``extend``, ``replace``) work on a directory; a hub id is
    fetched once into the Hugging Face cache (tokenizer files only, no weights).
    """
    source = str(path_or_hub_id)
    path = Path(source).expanduser()
    if path.exists() or not is_hub_id(source) or source.startswith((".", "/", "~")):
        return path  # local: the command's own checks name what is wrong with it
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(source, allow_patterns=list(HUB_TOKENIZER_FILES)))
    except Exception as error:  # offline, no such repo, gated: all one message for the user
        raise RuLLMError(
            f"base {source!r}: not a local directory, and the hub could not provide it ({first_line(error)})",
            hint=LOCAL_HINT,
        ) from error


def check_base_tokenizer(base_dir: str | Path) -> Any:
    """One-line errors for a ``--base`` that is missing, has no tokenizer, or does not load; else the tokenizer.

    Run before any corpus is read, so a broken base never costs a training run.
    """
    base = base_directory(base_dir, LOCAL_HINT)
    if not any((base / name).is_file() for name in TOKENIZER_FILES):
        raise RuLLMError(
            f"base {base_dir}: the directory has no tokenizer (tokenizer.json, tokenizer.model, ...)", hint=LOCAL_HINT
        )
    if has_sentencepiece_model(base) and not (base / "tokenizer_config.json").is_file():
        raise RuLLMError(
            f"base {base_dir}: a SentencePiece model without tokenizer_config.json (it names the tokenizer class "
            "and the special tokens)",
            hint="copy the model's tokenizer_config.json beside its tokenizer.model",
        )
    return load_tokenizer(base)
