"""Generation speed on Russian prompts: how fast Russian text comes out, not only tokens.

Each line of ``--data generation_speed=FILE`` is a prompt; the model generates greedily up to
``max_new_tokens`` (64 unless the settings say otherwise; it stops earlier only at its end-of-sequence
token). The model times each generation (prompt processing included, CUDA synchronised) and counts the
tokens it generated. A vocabulary adapted to Russian spends fewer tokens on the same text, so at the
same tokens per second it writes more Russian per second: ``cyrillic_chars_per_second`` is the number
to compare, ``tokens_per_second`` and ``characters_per_token`` say why.

Metrics are totals over the prompts (so long generations weigh by their time): ``tokens_per_second``,
``characters_per_second`` and ``cyrillic_chars_per_second`` (Cyrillic letters of the generated text per
second), ``characters_per_token`` of the generated text, and ``seconds`` and ``tokens`` in all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.eval.task import GenerateRequest, Item, Request, TaskData, TaskSettings
from ru_llm.eval.tasks.copy import count_cyrillic, read_lines

DEFAULT_NEW_TOKENS = 64


class GenerationSpeed:
    name = "generation_speed"
    description = (
        "greedy generation speed: Cyrillic characters and tokens per second, characters per token "
        "(--data generation_speed=FILE, a prompt per line)"
    )

    def load(self, settings: TaskSettings) -> TaskData:
        return read_lines(self.name, settings.data, settings.limit, "one Russian prompt per line")

    def request(self, item: Item, settings: TaskSettings, fits: Callable[[str], bool]) -> Request:
        prompt = item.data["text"]
        if not fits(prompt):
            raise ConfigError(f"{item.id}: the prompt does not fit the context")
        return GenerateRequest(prompt, settings.max_new_tokens or DEFAULT_NEW_TOKENS)

    def score(self, item: Item, request: Request, response: Any) -> dict[str, Any]:
        text = str(response)
        seconds = getattr(response, "seconds", None)
        tokens = getattr(response, "tokens", None)
        cyrillic = count_cyrillic(text)
        return {
            "id": item.id,
            "prediction": text,
            "gold": None,
            "score": cyrillic / seconds if seconds else None,
            "seconds": seconds,
            "tokens": tokens,
            "characters": len(text),
            "cyrillic_characters": cyrillic,
        }

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, float]:
        timed = [r for r in records if r.get("seconds") and r.get("tokens") is not None]
        if not timed:
            return {}
        seconds = sum(r["seconds"] for r in timed)
        tokens = sum(r["tokens"] for r in timed)
        characters = sum(r["characters"] for r in timed)
        metrics = {
            "cyrillic_chars_per_second": sum(r["cyrillic_characters"] for r in timed) / seconds,
            "characters_per_second": characters / seconds,
            "tokens_per_second": tokens / seconds,
            "seconds": seconds,
            "tokens": float(tokens),
        }
        if tokens:
            metrics["characters_per_token"] = characters / tokens
        return metrics
