"""Perplexity of a text file: per token, and bits per character so different vocabularies compare fairly."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.eval.task import Item, Request, RollingRequest, TaskData, TaskSettings


class Perplexity:
    name = "perplexity"
    description = "perplexity and bits per character on a text file (--data FILE, one document per line)"

    def load(self, settings: TaskSettings) -> TaskData:
        if settings.data is None:
            raise ConfigError("perplexity needs --data FILE (text, one document per line)")
        path = Path(settings.data).expanduser()
        if not path.is_file():
            raise ConfigError(f"perplexity: {settings.data}: no such file")
        raw = path.read_bytes()
        lines = [line for line in raw.decode("utf-8").split("\n") if line.strip()]
        if settings.limit is not None:
            lines = lines[: settings.limit]
        items = [Item(f"line/{i}", {"text": line}) for i, line in enumerate(lines)]
        return TaskData(items, str(path), hashlib.sha256(raw).hexdigest())

    def request(self, item: Item, settings: TaskSettings, fits: Callable[[str], bool]) -> Request:
        return RollingRequest(item.data["text"])

    def score(self, item: Item, request: Request, response: Any) -> dict[str, Any]:
        logprob, tokens = response
        chars = len(item.data["text"])
        return {
            "id": item.id,
            "prediction": round(logprob, 6),
            "gold": None,
            "score": -logprob / max(tokens, 1),
            "tokens": tokens,
            "chars": chars,
        }

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, float]:
        logprob = sum(r["prediction"] for r in records)
        tokens = sum(r["tokens"] for r in records)
        chars = sum(r["chars"] for r in records)
        if not tokens:
            return {}
        return {
            "perplexity": math.exp(-logprob / tokens),
            "bits_per_character": -logprob / math.log(2) / chars,
            "tokens": float(tokens),
            "characters_per_token": chars / tokens,
        }
