"""Lookups for the things this package's hooks register."""

from __future__ import annotations

from ru_llm.core.plugins import registry
from ru_llm.core.registry import Registry

# defined beside their contract (see embeddings.embedding_initializers), looked up from here as the others
from ru_llm.tokenize.embeddings import embedding_initializers as embedding_initializers
from ru_llm.tokenize.embeddings import get_embedding_initializer as get_embedding_initializer
from ru_llm.tokenize.trainers import TokenizerTrainer

_HINT = "run `ru-llm plugins` to see what is installed; a plugin adds more (docs/plugins.md)"


def tokenizer_trainers() -> Registry[TokenizerTrainer]:
    """Every registered vocabulary learner (``ru-llm tokenize trainers`` lists them)."""
    return registry("register_tokenizer_trainers", "tokenizer trainer", hint=_HINT, expect=TokenizerTrainer)
