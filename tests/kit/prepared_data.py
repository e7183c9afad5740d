"""A run's data as `ru-llm train run` prepares it (config, template, tokenizer, readers), without a model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ru_llm.core.jsonl import Reject


def prepare(run_config: Callable[..., Path], **values: Any) -> tuple[Any, list[Reject]]:
    """``prepare_datasets`` on ``run_config("llama", **values)``: the PreparedData and the rejects."""
    from ru_llm.core.families import model_family_for
    from ru_llm.train.configfile import resolve_config
    from ru_llm.train.datasets import prepare_datasets
    from ru_llm.train.registry import get_strategy
    from ru_llm.train.run import load_model_config, load_run_tokenizer

    config, _ = resolve_config(run_config("llama", **values))
    family = model_family_for(load_model_config(config))
    tokenizer = load_run_tokenizer(config, family)
    rejects: list[Reject] = []
    prepared = prepare_datasets(config, get_strategy(config.strategy), family, tokenizer, rejects.append)
    return prepared, rejects
