"""Vocabulary learners: the contract every ``register_tokenizer_trainers`` entry follows.

A trainer learns a whole vocabulary from weighted texts (see :mod:`ru_llm.tokenize.corpus`) and writes a
tokenizer directory that ``transformers.AutoTokenizer.from_pretrained`` loads. ``ru-llm tokenize train``
uses one on its own; ``ru-llm tokenize replace`` gives it a base tokenizer directory, whose normalisation,
pre-tokenisation, special tokens and chat template the new vocabulary keeps.

Heavy libraries (sentencepiece, tokenizers, transformers) are imported inside the methods, so building the
registry stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainReport:
    """What a trainer learned, for the command's summary table and ``--json``."""

    trainer: str
    vocab_size: int  # the size of the written vocabulary, special tokens included
    special_tokens: list[str]
    texts: int  # weighted texts read from the corpus
    seconds: float
    examples: list[str] = field(default_factory=list)  # a few learned (non-special) tokens, decoded
    base: str | None = None  # the base directory in replace mode

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TokenizerTrainer:
    """Base class of a vocabulary learner: a ``name``, :meth:`train` and :meth:`fits_base`."""

    name: str = ""
    aliases: tuple[str, ...] = ()
    description: str = ""

    def fits_base(self, base_dir: Path) -> bool:
        """Whether this trainer can learn a replacement vocabulary of the same kind as ``base_dir``'s.

        ``ru-llm tokenize replace`` picks the first registered trainer that fits when ``--trainer`` is not
        given, and refuses a ``--trainer`` that does not fit.
        """
        return False

    def min_vocab_size(self, *, base_dir: Path | None = None, special_tokens: Sequence[str] = ()) -> int:
        """The smallest ``vocab_size`` worth asking for: the tokens this trainer always writes (bytes,
        special and added tokens) plus one. Commands refuse less before reading any corpus."""
        return 1

    def train(
        self,
        texts: Iterable[tuple[str, float]],
        vocab_size: int,
        out_dir: Path,
        *,
        base_dir: Path | None = None,
        special_tokens: Sequence[str] = (),
        on_text: Callable[[], None] | None = None,
    ) -> TrainReport:
        """Learn a vocabulary of ``vocab_size`` entries (special tokens included) and write it to ``out_dir``.

        :param texts: ``(text, weight)`` pairs; a weight counts each word of its text that many times.
        :param out_dir: an existing, empty directory (the caller makes the result appear atomically).
        :param base_dir: replace mode: keep this tokenizer's normalisation, pre-tokenisation, special tokens
            (same strings) and ``tokenizer_config.json`` (chat template, padding side); only the learned
            vocabulary differs.
        :param special_tokens: extra special tokens to reserve (after the base's, if any).
        :param on_text: called once per text read, for progress.
        :raises RuLLMError: when the corpus is empty or cannot support ``vocab_size`` (naming the most it
            supports), or the base is of a kind this trainer cannot reproduce.
        """
        raise NotImplementedError
