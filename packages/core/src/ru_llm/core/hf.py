"""Hugging Face tokenizers: the one loader every package uses, with errors a user can act on.

transformers is imported only when a tokenizer is loaded, never at package import.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ru_llm.core.deps import require
from ru_llm.core.errors import RuLLMError, first_line

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

LOCAL_HINT = "pass a local directory holding tokenizer.json or tokenizer.model (with tokenizer_config.json)"

# ``name`` or ``org/name``; anything else (absolute, relative with ./, deeper paths) can only be a local path.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def is_hub_id(source: str) -> bool:
    """Whether ``source`` could name a hub repository (``name`` or ``org/name``)."""
    return HUB_ID.match(source) is not None


MODEL_DIR_HINT = "pass a directory saved by transformers (config.json, *.safetensors, tokenizer files) or a hub id"


def check_model_source(
    source: str | os.PathLike[str], *, what: str = "model", need_tokenizer: bool = True, hint: str | None = None
) -> Path | None:
    """Refuse a model that cannot be there, without importing anything heavy; returns the local directory
    (``None`` for a hub id, which only loading can check).

    A path that does not exist and cannot be a hub id is "no such directory"; a directory without
    ``config.json`` or (with ``need_tokenizer``) without tokenizer files says which file it expected.
    """
    hint = hint or MODEL_DIR_HINT
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.is_file():
        raise RuLLMError(f"{what}: {text}: is a file, not a model directory", hint=hint)
    if path.is_dir():
        if not (path / "config.json").is_file():
            if (path / "adapter_config.json").is_file():
                raise RuLLMError(f"{what}: {text}: is a LoRA adapter, not a model", hint="pass it as --adapter")
            raise RuLLMError(f"{what}: {text}: no config.json, so not a directory saved by transformers", hint=hint)
        if need_tokenizer and not any((path / name).is_file() for name in TOKENIZER_FILES):
            raise RuLLMError(
                f"{what}: {text}: no tokenizer files ({', '.join(TOKENIZER_FILES[:3])}, ...)",
                hint="save the tokenizer beside the model (tokenizer.save_pretrained(DIR))",
            )
        return path
    if not is_hub_id(text) or text.startswith((".", "~")):
        raise RuLLMError(f"{what}: {text}: no such directory", hint=hint)
    return None


def load_tokenizer(
    source: str | os.PathLike[str],
    *,
    trust_remote_code: bool = False,
    hint: str | None = None,
    package: str | None = None,
    extra: str | None = None,
    **kwargs: Any,
) -> Any:
    """``AutoTokenizer.from_pretrained`` for a local directory or a hub id, with one-line errors.

    Raises :class:`RuLLMError` naming the directory or id when there is no tokenizer to load, and
    says what to install when transformers (or a library the tokenizer needs) is missing.

    :param trust_remote_code: only when the user asked for it; a tokenizer's own code is never run otherwise.
    :param hint: what to do when the tokenizer cannot be found or loaded (default: pass a local directory).
    :param package: the ru-llm distribution (and ``extra``) that installs transformers, for the install hint.
    :param kwargs: passed on to ``from_pretrained``.
    """
    hint = hint or LOCAL_HINT
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.is_file():
        raise RuLLMError(f"tokenizer {text}: is a file, not a directory", hint=f"{hint} (its directory)")
    if path.is_dir():
        if not any((path / name).is_file() for name in TOKENIZER_FILES):
            raise RuLLMError(
                f"tokenizer {text}: the directory has no tokenizer files ({', '.join(TOKENIZER_FILES[:3])}, ...)",
                hint=hint,
            )
        where = f"tokenizer {text}: cannot be loaded"
    elif not is_hub_id(text):
        raise RuLLMError(f"tokenizer {text}: no such directory", hint=hint)
    else:
        where = f"tokenizer {text!r}: not a local directory, and the hub could not provide it"

    transformers = require("transformers", purpose="reading a tokenizer", package=package, extra=extra)
    try:
        return transformers.AutoTokenizer.from_pretrained(
            str(path) if path.is_dir() else text, trust_remote_code=trust_remote_code, **kwargs
        )
    except ImportError as error:
        raise RuLLMError(
            f"{where}, a library is missing: {first_line(error)}",
            hint="pip install sentencepiece protobuf (SentencePiece tokenizers need both)",
        ) from error
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise RuLLMError(f"{where}: {first_line(error)}", hint=hint) from error
