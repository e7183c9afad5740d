"""Secrets out of text: anything that looks like an API key becomes ``***`` before it is raised or logged.

:func:`redact` replaces the secrets it is given (the actual key, wherever it appears) and, without being
told, the shapes keys take in servers' error messages and URLs: ``Bearer <token>``, ``sk-...`` keys
(OpenAI, Anthropic, most OpenAI-compatible servers), Hugging Face ``hf_...`` tokens, ``api_key=...`` /
``"token": "..."`` assignments and ``user:password@`` in a URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
#: a given secret shorter than this is a placeholder ("x" for a server without keys), not a key: masking
#: every "x" in a message would hide the message and protect nothing
MIN_SECRET = 6

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=:-]{4,}"), rf"\1\2{MASK}"),
    (re.compile(r"\b(sk|rk|pk)-[A-Za-z0-9_-]{6,}"), rf"\1-{MASK}"),
    (re.compile(r"\bhf_[A-Za-z0-9]{10,}"), f"hf_{MASK}"),
    (
        re.compile(
            r"(?i)\b(api[_-]?key|x-api-key|access[_-]?token|auth[_-]?token|secret|password|authorization)"
            r"(\"?'?\s*[:=]\s*\"?'?)(?!\*\*\*|(?i:bearer)\s)[^\s\"',;&}]+"
        ),
        rf"\1\2{MASK}",
    ),
    (re.compile(r"(?i)([?&](?:key|token|access_token|api_key)=)[^&#\s]+"), rf"\1{MASK}"),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s@:]+:[^/\s@]+@"), rf"\1{MASK}@"),
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with each of ``secrets`` (the real values) and every key-shaped token replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET:
            text = text.replace(secret, MASK)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text
