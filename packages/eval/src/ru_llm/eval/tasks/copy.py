"""Copying a text verbatim (DaruCopy's measure): does the model repeat what it was given, in full?

Each line of ``--data copy=FILE`` is a text; the prompt asks to repeat it (in Russian when most of its
letters are Cyrillic, else in English), and the answer is generated greedily up to the first newline.
A model adapted to Russian that lost this ability shortens, paraphrases or never stops.

Metrics, over the texts:

- ``length_ratio``: the mean of ``min(p/s, s/p)``, ``p`` and ``s`` the lengths of the output and of the
  text in characters (the task does not see the tokenizer; characters also compare across vocabularies).
  1.0 for outputs of the right length, lower the more they are cut short or run on.
- ``copy_rate``: the share of outputs whose character similarity to the text is at least 0.99.
- ``similarity``: the mean character similarity ``2 * LCS / (p + s)``, LCS the longest common
  subsequence of characters: the ratio ``difflib.SequenceMatcher`` reports, computed exactly (see
  :func:`similarity`). One wrong, missing or extra character in 200 keeps it at 0.995 or above.
- ``exact_match``: the share of outputs equal to the text (both stripped of surrounding whitespace).
- ``{metric}_stderr`` beside each of these four means: its sample standard error, as lm-eval reports one.
- ``hit_token_limit``: how many outputs used all ``max_new_tokens`` (probably cut short).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.eval.stats import add_mean, mean_stderr
from ru_llm.eval.task import GenerateRequest, Item, Request, TaskData, TaskSettings

PROMPTS = {
    "ru": "Повтори текст дословно.\nТекст: {text}\nПовтор:",
    "en": "Repeat the text exactly.\nText: {text}\nRepeat:",
}
COPY_THRESHOLD = 0.99
# Without the tokenizer a text's length in tokens is estimated at one token per two characters
# (about what LLaMA-2 or Mistral-7B spend on Russian); the limit is 1.5 times that.
CHARS_PER_TOKEN_GUESS = 2.0
LIMIT_FACTOR = 1.5


def count_cyrillic(text: str) -> int:
    """Characters of the Cyrillic block (U+0400–U+04FF), as ``ru_llm.tokenize.stats`` counts them."""
    return sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")


def cyrillic_share(text: str) -> float:
    """Cyrillic letters among all letters of ``text`` (0.0 when it has none)."""
    letters = [ch for ch in text if ch.isalpha()]
    return count_cyrillic("".join(letters)) / len(letters) if letters else 0.0


def lcs_length(a: str, b: str) -> int:
    """The length of the longest common subsequence of ``a`` and ``b``, bit-parallel (Allison–Dix,
    Hyyrö): one big-integer step per character of ``b``, fast on texts of thousands of characters."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return 0
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for ch in b:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def similarity(prediction: str, source: str) -> float:
    """Character similarity in [0, 1]: ``2 * LCS / (len(prediction) + len(source))``.

    This is the ratio ``difflib.SequenceMatcher`` reports, computed exactly: difflib matches greedy
    blocks, which on repetitive text can pair a block with the wrong repeat (one wrong letter in a phrase
    said four times scores 0.75 there, 0.996 here).
    """
    if not prediction and not source:
        return 1.0
    return 2 * lcs_length(prediction, source) / (len(prediction) + len(source))


def length_ratio(prediction: str, source: str) -> float:
    """``min(p/s, s/p)`` over character lengths; 0.0 for an empty output."""
    p, s = len(prediction), len(source)
    if not p or not s:
        return float(p == s)
    return min(p / s, s / p)


def read_lines(task: str, data: str | None, limit: int | None, hint: str) -> TaskData:
    """``--data`` FILE, one text per line (blank lines skipped), as items ``line/{n}``."""
    if data is None:
        raise ConfigError(f"{task} needs --data {task}=FILE ({hint})")
    path = Path(data).expanduser()
    if not path.is_file():
        raise ConfigError(f"{task}: {data}: no such file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{task}: {data}: not UTF-8 text (byte {e.start})") from None
    lines = [(i, line.rstrip("\r")) for i, line in enumerate(text.split("\n")) if line.strip()]
    if not lines:
        raise ConfigError(f"{task}: {data}: no text in it")
    if limit is not None:
        lines = lines[:limit]
    items = [Item(f"line/{i}", {"text": line}) for i, line in lines]
    return TaskData(items, str(path), hashlib.sha256(raw).hexdigest())


class Copy:
    name = "copy"
    description = (
        "repeat a text verbatim (DaruCopy): length ratio and share of ≥99% copies (--data copy=FILE, a text per line)"
    )

    def load(self, settings: TaskSettings) -> TaskData:
        language = settings.options.get("copy_language", "auto")
        if language not in ("auto", *PROMPTS):
            raise ConfigError(f"copy: language {language!r}: expected auto, ru or en")
        return read_lines(self.name, settings.data, settings.limit, "one text to repeat per line")

    def request(self, item: Item, settings: TaskSettings, fits: Callable[[str], bool]) -> Request:
        text = item.data["text"].strip()
        language = settings.options.get("copy_language", "auto")
        if language == "auto":
            language = "ru" if cyrillic_share(text) >= 0.5 else "en"
        prompt = PROMPTS[language].format(text=text)
        if not fits(prompt):
            raise ConfigError(f"{item.id}: the prompt does not fit the context")
        limit = settings.max_new_tokens or math.ceil(LIMIT_FACTOR * len(text) / CHARS_PER_TOKEN_GUESS) + 2
        return GenerateRequest(prompt, limit, stop=("\n",))

    def score(self, item: Item, request: Request, response: Any) -> dict[str, Any]:
        assert isinstance(request, GenerateRequest)
        source = item.data["text"].strip()
        prediction = str(response).strip()
        similar = similarity(prediction, source)
        tokens = getattr(response, "tokens", None)
        return {
            "id": item.id,
            "prediction": prediction,
            "gold": source,
            "score": float(similar >= COPY_THRESHOLD),
            "similarity": round(similar, 6),
            "length_ratio": round(length_ratio(prediction, source), 6),
            "exact": prediction == source,
            "language": "ru" if request.prompt.startswith("Повтори") else "en",
            "hit_token_limit": tokens is not None and tokens >= request.max_new_tokens,
        }

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, float]:
        if not records:
            return {}
        metrics: dict[str, float] = {}
        for name, values in (
            ("length_ratio", [r["length_ratio"] for r in records]),
            ("copy_rate", [r["score"] for r in records]),
            ("similarity", [r["similarity"] for r in records]),
            ("exact_match", [float(r["exact"]) for r in records]),
        ):  # means over the texts, each with lm-eval's sample standard error
            add_mean(metrics, name, sum(values) / len(values), mean_stderr(values))
        metrics["hit_token_limit"] = float(sum(1 for r in records if r["hit_token_limit"]))
        return metrics
