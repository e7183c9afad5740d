"""Hooks defined by ru-llm-tokenize."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookspec


@hookspec
def register_tokenizer_trainers(register: Callable[..., object]) -> None:
    """Register vocabulary learners (SentencePiece Unigram/BPE, byte-level BPE, ...).

    :param register: call ``register(trainer, *, aliases=(), override=False)`` once per learner. A
        learner is a :class:`ru_llm.tokenize.trainers.TokenizerTrainer` (anything else is refused): a
        ``name``, ``train(texts, vocab_size, out_dir, *, base_dir, special_tokens, on_text)`` writing a
        directory ``AutoTokenizer`` loads, and ``fits_base(base_dir)`` saying whether it can replace that
        base's vocabulary (``ru-llm tokenize replace`` takes the first that fits, in registration order,
        built-ins first). ``override=True`` replaces a learner of the same name. Returns nothing; every
        implementation is called.
    """


@hookspec
def register_embedding_initializers(register: Callable[..., object]) -> None:
    """Register rules that initialise the embeddings of newly added tokens.

    :param register: call ``register(initializer, *, aliases=(), override=False)`` once per rule. A
        rule has a ``name`` and fills the new rows of the input and output embedding matrices from
        the old ones (e.g. the mean of the old sub-tokens). ``override=True`` replaces a rule of the
        same name. Returns nothing; every implementation is called.
    """
