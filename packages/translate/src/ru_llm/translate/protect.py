"""Protected spans: inline code, URLs, e-mails, commands, paths and math leave the text before MT and come
back after it.

A span is replaced by a numbered placeholder ``[N]`` (1-based, per piece). The choice: the MT models we
ship (WMT21/M2M100, NLLB, Marian) use SentencePiece vocabularies in which ``[``, ``]`` and ASCII digits
are ordinary, frequent tokens, and they copy citation markers like ``[1]`` through unchanged because their
training data is full of them. Exotic brackets (``⟦1⟧``) are missing from those vocabularies and come back
as ``<unk>`` or vanish; ``__URL_0__``-style tokens get split and re-cased. To keep ``[N]`` unambiguous, any
``[N]`` already in the source (a citation) is itself protected as a span, so every ``[N]`` in a piece's
text is a placeholder. Restoring accepts the spacing variants MT sometimes produces (``[ 1 ]``).

A sentence that mentions a command ("run pip install requests first") is prose and is translated; the
command itself is a span, as are command-line flags (``--force``), file paths, and inline math
(``$x^2$``, ``\\(x\\)``, following Pandoc's rule for ``$``: no space inside the dollars and no digit right
after the closing one, so "$5 and $10" stays prose).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PLACEHOLDER_RE = re.compile(r"\[\s*(\d{1,4})\s*\]")
"""A placeholder as found in MT output (spacing inside the brackets tolerated)."""

_URL = r"(?:https?://|ftp://|www\.)[^\s<>`\"]+"
# The lookbehind starts a match only where a word starts: without it a 100k-letter line costs seconds.
_EMAIL = r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}"
_INLINE_CODE = r"(?<!`)(?P<ticks>`+)(?!`)(?:.+?)(?<!`)(?P=ticks)(?!`)"
_MATH = (
    r"\$\$[^$]+\$\$"
    r"|(?<![\w$\\])\$(?=[^\s$])[^$\n]*?[^\s$\\]\$(?![\d$])"  # $x^2$, not "$5 and $10"
    r"|(?<![\w$\\])\$[^\s$\d]\$"  # $x$
    r"|\\\(.{1,500}?\\\)|\\\[.{1,500}?\\\]"  # \(x\) \[x\], bounded: no quadratic scan on a long line
)
# A command inside a sentence: a tool, a subcommand it has, then arguments up to the first English word
# that cannot be one ("run pip install requests and restart" protects "pip install requests"). Only tools
# whose name is no English word ("go up", "gem", "snap", "poetry" are left out).
_TOOLS = (
    r"(?:sudo\s+)?(?:pip3?|pipx|npm|npx|yarn|pnpm|apt-get|apt|brew|conda|mamba|git|docker(?:-compose)?|kubectl|cargo|uv"
    r"|dotnet|yum|dnf|pacman|choco|winget|python3?\s+-m\s+[\w.]+)"
)
_SUBCOMMANDS = (
    r"(?:install|uninstall|add|remove|update|upgrade|clone|init|commit|push|pull|checkout|switch|merge|rebase|status|log|diff|"
    r"fetch|build|run|exec|start|test|create|activate|sync|list|show|freeze|ps|apply|get|describe|delete|logs|compose|new|"
    r"publish|search|info|config|login|stash|reset|tag|branch|remote|restore|cherry-pick|bisect|blame|env|lock|ci|i)"
)
_STOP = (
    r"(?:and|or|then|to|the|a|an|in|on|at|for|with|from|first|again|before|after|command|commands|which|that|this|it|if|"
    r"when|so|but|instead|once|now|into|as|by|is|are|will|should|can|you|your|we|our|inside|without|within|to)\b"
)
_ARG = r"""(?:"[^"\n]*"|'[^'\n]*'|[^\s"'`,;()]*[^\s"'`.,;:!?()])"""
_COMMAND = rf"(?<![\w./-]){_TOOLS}\s+(?:{_SUBCOMMANDS}|-{{1,2}}\w[\w-]*)\b(?:[ \t]+(?!{_STOP}){_ARG}){{0,8}}"
_FLAG = r"(?<![\w-])--[A-Za-z][\w-]*(?:=[^\s,;)]+)?"
_PATH = (
    r"(?<![\w/.~-])(?:~|\.{1,2})/[\w.@+-]+(?:/[\w.@+-]+)*/?"  # ~/.bashrc ./run.sh ../x
    r"|(?<![\w/.~:-])/(?:[\w.@+-]+/)+[\w.@+-]*"  # /usr/local/bin (two parts at least: not "and/or", "km/h")
    r"|(?<![\w\\])[A-Za-z]:\\(?:[\w.-]+\\?)*"  # C:\Users\me
)
_SPAN_RE = re.compile(
    rf"(?P<code>{_INLINE_CODE})|(?P<command>{_COMMAND})|(?P<url>{_URL})|(?P<email>{_EMAIL})|(?P<math>{_MATH})"
    rf"|(?P<flag>{_FLAG})|(?P<path>{_PATH})|(?P<ph>\[\s*\d{{1,4}}\s*\])"
)
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
    """Replace inline code, commands, URLs, e-mails, math, flags, paths and existing ``[N]`` markers by
    placeholders.

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
        if match.lastgroup in ("url", "path"):
            span = _trim_url(span)  # sentence punctuation after a URL or a path is not part of it
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
