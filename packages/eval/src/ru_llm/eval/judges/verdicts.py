"""What a judge's text says: a 1-10 rating, FastChat's pairwise ``[[A]]``/``[[B]]``/``[[C]]`` or Arena-Hard's five
levels. Every reader returns ``(value, None)`` or ``(None, problem)``: it never raises, whatever the judge wrote.

The text is first normalised with Unicode NFKC, so full-width brackets, digits and letters
(``［［８］］``, ``[[Ａ>Ｂ]]``) read as their ASCII forms: a judge writing in East Asian typesetting means the same.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

Reading = tuple[Any, "str | None"]

# FastChat's single-answer prompts ask for "a rating ... on a scale of 1 to 10"
SCORE_SCALE = (1.0, 10.0)
# FastChat's patterns, with ASCII digits only (after NFKC) and any number of leading zeros: "[[08]]" is 8
_SCORE = re.compile(r"\[\[([0-9]+\.?[0-9]*)\]\]")
_SCORE_BACKUP = re.compile(r"\[([0-9]+\.?[0-9]*)\]")
# Arena-Hard's judge config: regex_pattern \[\[([AB<>=]+)\]\]
_ARENA = re.compile(r"\[\[([AB<>=]+)\]\]")
ARENA_VERDICTS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")


def normalised(judgment: str | None) -> str:
    """The judgment in NFKC form (full-width ``［８］`` becomes ``[8]``); ``""`` for ``None``."""
    return unicodedata.normalize("NFKC", judgment or "")


def _short(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_score(judgment: str | None, scale: tuple[float, float] = SCORE_SCALE) -> Reading:
    """FastChat's rating: the first ``[[x]]``, else the first ``[x]``; it must lie on ``scale`` (1-10).

    ``[[08]]`` is 8 (FastChat's own ``ast.literal_eval`` raises on it); ``[[11]]``, ``[[0]]`` and
    ``[[100000000000000000000]]`` are problems, not scores.
    """
    text = normalised(judgment)
    if not text.strip():
        return None, "the judgment is empty"
    match = _SCORE.search(text) or _SCORE_BACKUP.search(text)
    if match is None:
        return None, "the judgment has no [[rating]]"
    value = float(match.group(1))  # digits and at most one dot: always a float (huge ones become inf)
    low, high = scale
    if not (math.isfinite(value) and low <= value <= high):
        return None, f"the rating {_short(match.group(0))} is outside the prompt's scale {low:g}-{high:g}"
    return value, None


def parse_score(judgment: str | None) -> float | None:
    """The rating (see :func:`read_score`) or ``None``."""
    return read_score(judgment)[0]


def read_pair_verdict(judgment: str | None) -> Reading:
    """FastChat's pairwise verdict: ``"A"`` for ``[[A]]``, ``"B"`` for ``[[B]]``, ``"tie"`` for ``[[C]]``, checked
    in that order as FastChat's ``run_judge_pair`` does."""
    text = normalised(judgment)
    if not text.strip():
        return None, "the judgment is empty"
    for mark, verdict in (("[[A]]", "A"), ("[[B]]", "B"), ("[[C]]", "tie")):
        if mark in text:
            return verdict, None
    return None, "the judgment has no [[A]], [[B]] or [[C]]"


def parse_verdict(judgment: str | None) -> str | None:
    """The pairwise verdict (see :func:`read_pair_verdict`) or ``None``."""
    return read_pair_verdict(judgment)[0]


def read_arena_verdict(judgment: str | None) -> Reading:
    """Arena-Hard's verdict: one of :data:`ARENA_VERDICTS` in ``[[...]]``. As Arena-Hard's ``get_score``, every
    ``[[...]]`` of A, B, <, >, = counts; two different ones conflict. A label that is not one of the five
    (``[[A>>>B]]``, ``[[A<B]]``) is a problem too (Arena-Hard drops such a game without saying)."""
    text = normalised(judgment)
    if not text.strip():
        return None, "the judgment is empty"
    found = list(dict.fromkeys(_ARENA.findall(text)))
    if not found:
        return None, "the judgment has no verdict label ([[A>>B]], [[A>B]], [[A=B]], [[B>A]] or [[B>>A]])"
    if len(found) > 1:
        return None, "conflicting verdicts " + ", ".join(f"[[{_short(v)}]]" for v in found[:3])
    if found[0] not in ARENA_VERDICTS:
        return None, f"[[{_short(found[0])}]] is not one of the five verdicts"
    return found[0], None
