"""Built-in vocabulary learners, registered through the same hook a third-party plugin uses.

Order matters: ``ru-llm tokenize replace`` without ``--trainer`` takes the first one whose ``fits_base``
accepts the base.
"""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookimpl
from ru_llm.tokenize.bpe.trainer import ByteLevelBpeTrainer
from ru_llm.tokenize.sentencepiece.trainers import SentencePieceBpeTrainer, SentencePieceUnigramTrainer


@hookimpl
def register_tokenizer_trainers(register: Callable[..., object]) -> None:
    for trainer in (ByteLevelBpeTrainer(), SentencePieceBpeTrainer(), SentencePieceUnigramTrainer()):
        register(trainer)
