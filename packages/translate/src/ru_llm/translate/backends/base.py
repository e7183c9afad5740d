"""The MT backend contract: what ``register_translators`` registers and what the engine calls.

A :class:`TranslatorBackend` is a light, stateless description (name, default model, licence note);
``load()`` returns a :class:`LoadedTranslator` that holds the model and translates batches. The
engine owns deduplication, batching by token budget, caching, retries and checks; a backend only
turns a batch of English segments into Russian ones.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Decoding:
    """Decoding settings; part of the cache key, so a change re-translates."""

    num_beams: int = 1
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0
    #: output budget per segment: max_new_tokens = ratio * input tokens + slack (capped by the backend)
    max_new_tokens_ratio: float = 2.0
    max_new_tokens_slack: int = 16

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def max_new_tokens(self, input_tokens: int, cap: int | None = None) -> int:
        budget = int(self.max_new_tokens_ratio * input_tokens) + self.max_new_tokens_slack
        return min(budget, cap) if cap else budget


#: the retry for a segment that failed its checks: beam search that may not repeat itself
RETRY = Decoding(num_beams=4, no_repeat_ngram_size=4, repetition_penalty=1.2)


@dataclass(frozen=True)
class Translation:
    """One translated segment."""

    text: str
    #: the output reached its token budget: probably cut off (or a repetition loop)
    hit_cap: bool = False


class LoadedTranslator(ABC):
    """A backend with its model loaded, ready to translate batches."""

    #: identifies the model in the cache key (hub id or resolved local path, plus anything that changes output)
    model_id: str
    #: the longest input, in tokens, the model takes; the engine splits longer segments into sentences
    max_input_tokens: int
    #: the most tokens the model may generate for one segment (``None``: no fixed cap)
    max_output_tokens: int | None = None

    @abstractmethod
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Input length of each text in the model's tokens (for batching and limits)."""

    @abstractmethod
    def translate(self, texts: Sequence[str], decoding: Decoding) -> list[Translation]:
        """Translate a batch (English -> Russian), one result per text, in order."""

    def close(self) -> None:  # noqa: B027  (optional: a backend with nothing to free need not override it)
        """Free the model (GPU memory, connections)."""


class TranslatorBackend(ABC):
    """A registered MT backend (``ru-llm translate --backend NAME``)."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    default_model: ClassVar[str | None] = None
    #: the licence of the default model, shown to users (e.g. NLLB is CC-BY-NC: not for commercial use)
    model_license: ClassVar[str] = ""
    commercial: ClassVar[bool] = True

    @abstractmethod
    def load(self, model: str | None = None, **options: Any) -> LoadedTranslator:
        """Load ``model`` (hub id or local path; default :attr:`default_model`)."""

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default_model": self.default_model,
            "model_license": self.model_license,
            "commercial": self.commercial,
            "description": self.description,
        }
