"""The line every stage prints when it dropped more than a few percent of its input: nothing is dropped
without a word, and the word names the main reason and the setting that controls it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

#: dropping more than this share of the input earns a warning line
WARN_SHARE = 0.05


def drop_warning(
    what: str, total: int, reasons: Counter[str], knobs: Mapping[str, str], *, rejects: str = "rejects.jsonl"
) -> str | None:
    """``warning: …`` when more than :data:`WARN_SHARE` of ``total`` ``what`` were dropped, else ``None``.

    :param reasons: dropped records by reason (as counted for the summary).
    :param knobs: reason prefix -> the setting that controls it (the first prefix the top reason starts
        with wins; ``""`` is the fallback).
    """
    dropped = sum(reasons.values())
    if total <= 0 or dropped <= WARN_SHARE * total:
        return None
    reason, count = reasons.most_common(1)[0]
    knob = next((k for prefix, k in knobs.items() if prefix and reason.startswith(prefix)), knobs.get(""))
    line = f"warning: {dropped} of {total} {what} ({dropped / total:.0%}) were not used; most often {reason} ({count})"
    return line + (f": {knob}" if knob else "") + f"; every one is in {rejects} with its reason"
