"""A run's data as `ru-llm train run` prepares it (config, template, tokenizer, readers), without a model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ru_llm.core.jsonl import Reject


def prepare(run_config: Callable[..., Path], **values: Any) -> tuple[Any, list[Reject]]:
    """The strategy's data pipeline on ``run_config("llama-small", **values)``: the PreparedData and the rejects."""
    from ru_llm.core.families import model_family_for
    from ru_llm.train.configfile import resolve_config
    from ru_llm.train.loading import load_model_config, load_run_tokenizer
    from ru_llm.train.registry import get_pipeline, get_strategy

    config, _ = resolve_config(run_config("llama-small", **values))
    family = model_family_for(load_model_config(config))
    tokenizer = load_run_tokenizer(config, family)
    rejects: list[Reject] = []
    pipeline = get_pipeline(get_strategy(config.strategy).data_kind)
    prepared = pipeline.prepare(config, family, tokenizer, rejects.append, None)
    return prepared, rejects
