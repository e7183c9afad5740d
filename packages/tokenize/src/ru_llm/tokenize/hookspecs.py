"""Hooks defined by ru-llm-tokenize."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookspec


@hookspec
def register_tokenizer_trainers(register: Callable[..., object]) -> None:
    """Register vocabulary learners (SentencePiece Unigram/BPE, byte-level BPE, ...).

    :param register: call ``register(trainer, *, aliases=(), override=False)`` once per learner. A
        learner has a ``name`` and learns a vocabulary of a requested size from a text corpus.
        ``override=True`` replaces a learner of the same name. Returns nothing; every implementation
        is called.
    """


@hookspec
def register_embedding_initializers(register: Callable[..., object]) -> None:
    """Register rules that initialise the embeddings of newly added tokens.

    :param register: call ``register(initializer, *, aliases=(), override=False)`` once per rule. A
        rule has a ``name`` and fills the new rows of the input and output embedding matrices from
        the old ones (e.g. the mean of the old sub-tokens). ``override=True`` replaces a rule of the
        same name. Returns nothing; every implementation is called.
    """
