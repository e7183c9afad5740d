"""The model's config and tokenizer, loaded and checked as a run needs them (before any weights load)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError, first_line
from ru_llm.train.config import RunConfig


def load_model_config(config: RunConfig) -> Any:
    """The model's transformers config (local directory or hub id)."""
    from transformers import AutoConfig

    path = Path(config.model).expanduser()
    if path.exists() and not (path / "config.json").is_file():
        raise ConfigError(f"model: {config.model}: no config.json", hint="pass a directory saved by transformers")
    try:
        return AutoConfig.from_pretrained(
            str(path) if path.exists() else config.model, trust_remote_code=config.trust_remote_code
        )
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"model: cannot load {config.model!r}: {first_line(e)}",
            hint="offline? pass a local model directory",
        ) from None


def check_context(config: RunConfig, model_config: Any) -> None:
    limit = getattr(model_config, "max_position_embeddings", None) or getattr(model_config, "n_positions", None)
    if limit and config.max_length > limit:
        raise ConfigError(
            f"max_length {config.max_length} is above the model's context of {limit} tokens",
            hint=f"set max_length to {limit} or less",
        )


def load_run_tokenizer(config: RunConfig, family: Any) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(config.model, trust_remote_code=config.trust_remote_code)
    except (OSError, ValueError, TypeError) as e:
        raise ConfigError(
            f"model: {config.model}: no usable tokenizer ({first_line(e)})",
            hint="save the tokenizer beside the model (tokenizer.json / tokenizer_config.json)",
        ) from None
    if tokenizer.pad_token is None:
        pad = family.pad_token or tokenizer.eos_token
        if pad is None:
            raise ConfigError(f"model: {config.model}: the tokenizer has neither a pad nor an EOS token")
        tokenizer.pad_token = pad
    return tokenizer
