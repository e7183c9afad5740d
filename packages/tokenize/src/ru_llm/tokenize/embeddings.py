"""Rules that give newly added tokens their first embedding rows.

An initialiser is registered through the ``register_embedding_initializers`` hook (the built-ins in
:mod:`ru_llm.tokenize.builtin_initializers` too) and called once per matrix: the input embeddings,
and the output embeddings (``lm_head``) when they are not tied. It sees the old matrix and, for every
new token, the ids of the old tokens the old tokenizer splits that token's text into.

torch is imported inside the methods: building the registry stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ru_llm.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from ru_llm.core.registry import Registry


class EmbeddingInitializer:
    """Base class of a new-token initialiser: a ``name`` and :meth:`new_rows`."""

    name: str = ""
    aliases: tuple[str, ...] = ()
    description: str = ""

    def new_rows(
        self,
        old: torch.Tensor,
        sub_tokens: Sequence[Sequence[int]],
        *,
        matrix: str,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """Rows for the new tokens, shape ``(len(sub_tokens), old.shape[1])``.

        :param old: the rows of the old vocabulary (``(old vocabulary size, hidden)``, the model's dtype;
            the old model's padding rows are not included).
        :param sub_tokens: per new token, the old ids its text encodes to, in order; an empty list means
            the old tokenizer gave nothing (the built-ins fall back to the mean of all old rows).
        :param matrix: ``"input"`` or ``"output"``, for rules that treat them differently.
        :param generator: a seeded torch generator for rules that draw random numbers.
        """
        raise NotImplementedError


def _weighted_rows(old: torch.Tensor, sub_tokens: Sequence[Sequence[int]], weights: Any) -> torch.Tensor:
    """``sum_i weights(k)[i] * old[ids[i]]`` per new token (float32), the all-rows mean where ids is empty."""
    import torch

    old32 = old.float()
    rows = torch.empty(len(sub_tokens), old.shape[1], dtype=torch.float32)
    fallback = old32.mean(dim=0)
    for i, ids in enumerate(sub_tokens):
        if not ids:
            rows[i] = fallback
            continue
        w = torch.tensor(weights(len(ids)), dtype=torch.float32)
        rows[i] = w @ old32[list(ids)]
    return rows.to(old.dtype)


@dataclass(frozen=True)
class MeanInitializer(EmbeddingInitializer):
    """The mean of the sub-token rows (Ruadapt; the default)."""

    name: str = "mean"
    aliases: tuple[str, ...] = ("avg",)
    description: str = "mean of the rows of the old sub-tokens of the new token's text"

    def new_rows(
        self, old: torch.Tensor, sub_tokens: Sequence[Sequence[int]], *, matrix: str, generator: torch.Generator
    ) -> torch.Tensor:
        return _weighted_rows(old, sub_tokens, lambda k: [1.0 / k] * k)


@dataclass(frozen=True)
class FirstWeightedInitializer(EmbeddingInitializer):
    """A weighted mean: the first sub-token gets ``first_weight``, the others share the rest equally."""

    name: str = "first-weighted"
    aliases: tuple[str, ...] = ("first",)
    description: str = "weighted mean of the old sub-token rows, the first sub-token weighing most"
    first_weight: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.first_weight <= 1.0:
            raise ConfigError(f"initializer {self.name!r}: first_weight must be in (0, 1], not {self.first_weight}")

    def weights(self, k: int) -> list[float]:
        """Weights of ``k`` sub-tokens; they sum to 1."""
        if k == 1:
            return [1.0]
        rest = (1.0 - self.first_weight) / (k - 1)
        return [self.first_weight] + [rest] * (k - 1)

    def new_rows(
        self, old: torch.Tensor, sub_tokens: Sequence[Sequence[int]], *, matrix: str, generator: torch.Generator
    ) -> torch.Tensor:
        return _weighted_rows(old, sub_tokens, self.weights)


@dataclass(frozen=True)
class NormalInitializer(EmbeddingInitializer):
    """Random rows ``mean_row + std * N(0, 1)``: centred on the mean old row, spread by the old matrix's std."""

    name: str = "normal"
    aliases: tuple[str, ...] = ("random",)
    description: str = "random normal around the mean old row with the old matrix's std (seeded)"

    def new_rows(
        self, old: torch.Tensor, sub_tokens: Sequence[Sequence[int]], *, matrix: str, generator: torch.Generator
    ) -> torch.Tensor:
        import torch

        old32 = old.float()
        noise = torch.randn(len(sub_tokens), old.shape[1], generator=generator, dtype=torch.float32)
        return (old32.mean(dim=0) + old32.std() * noise).to(old.dtype)


BUILTIN_INITIALIZERS: tuple[EmbeddingInitializer, ...] = (
    MeanInitializer(),
    FirstWeightedInitializer(),
    NormalInitializer(),
)


def embedding_initializers() -> Registry[EmbeddingInitializer]:
    """Every registered new-embedding initialiser (``ru_llm.tokenize.registry`` re-exports this: it is defined
    beside the contract so that looking one up does not import the registry module, which imports this one)."""
    from ru_llm.core.plugins import registry

    return registry(
        "register_embedding_initializers",
        "embedding initializer",
        hint="run `ru-llm plugins` to see what is installed; a plugin adds more (docs/plugins.md)",
        expect=EmbeddingInitializer,
    )


def get_embedding_initializer(name: str) -> EmbeddingInitializer:
    """The initialiser registered under ``name`` or an alias; an unknown name lists the known ones."""
    return embedding_initializers().get(name)
