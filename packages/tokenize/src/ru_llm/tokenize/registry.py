"""Lookups for the things this package's hooks register."""

from __future__ import annotations

from typing import Any

from ru_llm.core.plugins import registry
from ru_llm.core.registry import Registry
from ru_llm.tokenize.embeddings import EmbeddingInitializer

_HINT = "run `ru-llm plugins` to see what is installed; a plugin adds more (docs/plugins.md)"


def tokenizer_trainers() -> Registry[Any]:
    """Every registered vocabulary learner."""
    return registry("register_tokenizer_trainers", "tokenizer trainer", hint=_HINT)


def embedding_initializers() -> Registry[EmbeddingInitializer]:
    """Every registered new-embedding initialiser."""
    return registry("register_embedding_initializers", "embedding initializer", hint=_HINT, expect=EmbeddingInitializer)
