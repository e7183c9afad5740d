"""Load a Hugging Face tokenizer from a local directory or a hub id, with errors a user can act on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ru_llm.core.errors import RuLLMError

# SentencePiece model files, by the names Hugging Face directories use (LLaMA/Mistral, T5, XLM-R); first wins.
SENTENCEPIECE_MODEL_FILES = ("tokenizer.model", "spiece.model", "sentencepiece.bpe.model")

# Any one of these in a directory means it holds a tokenizer AutoTokenizer may be able to read.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "vocab.json",
    "vocab.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
)

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

LOCAL_HINT = "pass a local directory holding tokenizer.json or tokenizer.model (with tokenizer_config.json)"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _reason(error: BaseException) -> str:
    """The first line of an exception, which is where transformers puts the useful part."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def load_tokenizer(path_or_hub_id: str | Path) -> Any:
    """``AutoTokenizer.from_pretrained`` for a local directory or a hub id, never with remote code.

    Raises :class:`RuLLMError` naming the directory or id when there is no tokenizer to load.
    """
    source = str(path_or_hub_id)
    path = Path(source).expanduser()
    if path.is_file():
        raise RuLLMError(f"tokenizer {source}: is a file, not a directory", hint=f"{LOCAL_HINT}: its directory")
    if path.is_dir():
        if not any((path / name).is_file() for name in TOKENIZER_FILES):
            raise RuLLMError(
                f"tokenizer {source}: the directory has no tokenizer files ({', '.join(TOKENIZER_FILES[:3])}, ...)",
                hint=LOCAL_HINT,
            )
        where = f"tokenizer {source}: cannot be loaded"
    elif not _HUB_ID.match(source):
        raise RuLLMError(f"tokenizer {source}: no such directory", hint=LOCAL_HINT)
    else:
        where = f"tokenizer {source!r}: not a local directory, and the hub could not provide it"

    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path) if path.is_dir() else source, trust_remote_code=False)
    except ImportError as error:
        raise RuLLMError(
            f"{where}, a library is missing: {_reason(error)}",
            hint="pip install sentencepiece protobuf (SentencePiece tokenizers need both)",
        ) from error
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RuLLMError(f"{where}: {_reason(error)}", hint=LOCAL_HINT) from error


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
    if path.exists() or not _HUB_ID.match(source) or source.startswith((".", "/", "~")):
        return path  # local: the command's own checks name what is wrong with it
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(source, allow_patterns=list(HUB_TOKENIZER_FILES)))
    except Exception as error:  # offline, no such repo, gated: all one message for the user
        raise RuLLMError(
            f"base {source!r}: not a local directory, and the hub could not provide it ({_reason(error)})",
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
