"""Protected spans: inline code, URLs and e-mails leave the text before MT and come back after it.

A span is replaced by a numbered placeholder ``[N]`` (1-based, per piece). The choice: the MT models we
ship (WMT21/M2M100, NLLB, Marian) use SentencePiece vocabularies in which ``[``, ``]`` and ASCII digits
are ordinary, frequent tokens, and they copy citation markers like ``[1]`` through unchanged because their
training data is full of them. Exotic brackets (``⟦1⟧``) are missing from those vocabularies and come back
as ``<unk>`` or vanish; ``__URL_0__``-style tokens get split and re-cased. To keep ``[N]`` unambiguous, any
``[N]`` already in the source (a citation) is itself protected as a span, so every ``[N]`` in a piece's
text is a placeholder. Restoring accepts the spacing variants MT sometimes produces (``[ 1 ]``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PLACEHOLDER_RE = re.compile(r"\[\s*(\d{1,4})\s*\]")
"""A placeholder as found in MT output (spacing inside the brackets tolerated)."""

_URL = r"(?:https?://|ftp://|www\.)[^\s<>`\"]+"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}"
_INLINE_CODE = r"(?<!`)(?P<ticks>`+)(?!`)(?:.+?)(?<!`)(?P=ticks)(?!`)"
_SPAN_RE = re.compile(rf"(?P<code>{_INLINE_CODE})|(?P<url>{_URL})|(?P<email>{_EMAIL})|(?P<ph>\[\s*\d{{1,4}}\s*\])")
_URL_TRAILING = ".,;:!?'\"»”’"
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def placeholder(index: int) -> str:
    """The placeholder for span number ``index`` (1-based)."""
    return f"[{index}]"


def _trim_url(url: str) -> str:
    # Sentence punctuation after a URL is not part of it; a closing bracket is only when the URL opened it
    # (https://en.wikipedia.org/wiki/Mercury_(planet)).
    while url:
        last = url[-1]
        if last in _URL_TRAILING or (last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last)):
            url = url[:-1]
        else:
            break
    return url


def protect_spans(text: str) -> tuple[str, tuple[str, ...]]:
    """Replace inline code, URLs, e-mails and existing ``[N]`` markers by placeholders.

    Returns the text with placeholders and the spans, ``spans[N - 1]`` for placeholder ``[N]``.
    ``restore_spans(*protect_spans(t)) == t`` for every ``t``.
    """
    out: list[str] = []
    spans: list[str] = []
    pos = 0
    for match in _SPAN_RE.finditer(text):
        start = match.start()
        if start < pos:
            continue
        span = match.group(0)
        if match.lastgroup == "url":
            span = _trim_url(span)
            if len(span) <= len("www."):
                continue
        out.append(text[pos:start])
        spans.append(span)
        out.append(placeholder(len(spans)))
        pos = start + len(span)
    out.append(text[pos:])
    return "".join(out), tuple(spans)


def restore_spans(translation: str, spans: Sequence[str]) -> str:
    """Put the protected spans back in place of their placeholders; unknown numbers are left as they are."""
    if not spans:
        return translation

    def put_back(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return spans[index - 1] if 1 <= index <= len(spans) else match.group(0)

    return PLACEHOLDER_RE.sub(put_back, translation)


def renumber(text: str, spans: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """Number the placeholders of a part of a piece from 1 again, with the spans it uses."""
    used: list[str] = []

    def take(match: re.Match[str]) -> str:
        index = int(match.group(1))
        used.append(spans[index - 1] if 1 <= index <= len(spans) else match.group(0))
        return placeholder(len(used))

    return PLACEHOLDER_RE.sub(take, text), tuple(used)


def placeholder_problems(translation: str, spans: Sequence[str]) -> list[str]:
    """Why the placeholders of ``translation`` do not match ``spans``; [] when each appears exactly once.

    A translation whose placeholders were already restored passes too: a span with no placeholder is
    accepted when its text appears verbatim.
    """
    counts: dict[int, int] = {}
    for match in PLACEHOLDER_RE.finditer(translation):
        index = int(match.group(1))
        counts[index] = counts.get(index, 0) + 1
    problems = [f"unknown placeholder [{index}]" for index in sorted(counts) if not 1 <= index <= len(spans)]
    for index, span in enumerate(spans, start=1):
        seen = counts.get(index, 0)
        if seen > 1:
            problems.append(f"placeholder [{index}] duplicated")
        elif seen == 0 and span not in translation:
            problems.append(f"placeholder [{index}] lost")
    return problems


def strip_placeholders(text: str) -> str:
    """The text without placeholders, for measuring letters and lengths."""
    return PLACEHOLDER_RE.sub(" ", text)
