"""Tokenizer efficiency of the evaluated model's tokenizer on ``--data`` texts, beside its other results.

Each text becomes a :class:`TokenizeRequest`: the model side runs its tokenizer (no special tokens, no
forward pass) through ``ru_llm.tokenize.stats.tokenizer_stats``, the code behind ``ru-llm tokenize
stats``, so both report the same numbers. Metrics are over all texts together (``efficiency``):
``chars_per_token``, ``tokens_per_word`` and ``cyrillic_chars_per_token`` (Cyrillic letters per token
covering one: the Russian part alone, undiluted by digits and Latin; it needs a fast tokenizer, whose
offsets say which tokens cover Cyrillic), with the counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ru_llm.core.deps import require
from ru_llm.eval.task import Item, Request, TaskData, TaskSettings, TokenizeRequest
from ru_llm.eval.tasks.copy import read_lines

COUNTS = ("tokens", "characters", "words", "cyrillic_characters", "cyrillic_tokens")


def _stats() -> Any:
    return require("ru_llm.tokenize.stats", purpose="tokenizer_efficiency", package="ru-llm-eval", extra="tokenize")


class TokenizerEfficiency:
    name = "tokenizer_efficiency"
    description = (
        "the model's tokenizer: characters per token, Cyrillic characters per Cyrillic token, tokens per word "
        "(--data tokenizer_efficiency=FILE, a text per line)"
    )

    def load(self, settings: TaskSettings) -> TaskData:
        _stats()  # missing before the model loads, not after
        return read_lines(self.name, settings.data, settings.limit, "text, one document per line")

    def request(self, item: Item, settings: TaskSettings, fits: Callable[[str], bool]) -> Request:
        return TokenizeRequest(item.data["text"])

    def score(self, item: Item, request: Request, response: Any) -> dict[str, Any]:
        counts = {k: response[k] for k in COUNTS}
        return {
            "id": item.id,
            "prediction": counts["tokens"],
            "gold": None,
            "score": counts["characters"] / counts["tokens"] if counts["tokens"] else None,
            **counts,
        }

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, float]:
        if not records:
            return {}
        totals = {k: sum(r[k] for r in records) for k in COUNTS if k != "cyrillic_tokens"}
        cyrillic_tokens = [r["cyrillic_tokens"] for r in records]
        metrics = _stats().efficiency(
            totals["tokens"],
            totals["characters"],
            totals["words"],
            totals["cyrillic_characters"],
            None if None in cyrillic_tokens else sum(cyrillic_tokens),
        )
        return {k: float(v) for k, v in metrics.items() if v is not None}
