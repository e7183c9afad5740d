"""Errors a user can act on.

Everything here is a :class:`RuLLMError`: the CLI prints it as one line with its hint and exits 1,
so the message must name the file, line, record id or key that caused it, and the hint what to do.
Anything that is not a ``RuLLMError`` is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RuLLMError(Exception):
    """A problem the user can fix; ``hint`` says how."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(RuLLMError):
    """A configuration value or key is wrong."""


class PluginError(RuLLMError):
    """A plugin failed to load, registered something twice, or implements an unknown hook."""


class RecordError(RuLLMError):
    """One input record is malformed.

    ``location`` is ``file:line`` when the record came from a file; ``record_id`` is the record's id
    when it has a usable one; ``reason`` is the bare reason, kept apart so rejects files can carry it.
    """

    def __init__(
        self,
        reason: str,
        *,
        record_id: str | None = None,
        location: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.reason = reason
        self.record_id = record_id
        self.location = location
        prefix = "".join(
            part
            for part in (
                f"{location}: " if location else "",
                f"record {record_id!r}: " if record_id is not None else "",
            )
        )
        super().__init__(prefix + reason, hint=hint)


class UnknownNameError(RuLLMError, LookupError):
    """A name that no registry entry has; the message lists the known names and the closest one."""

    def __init__(self, kind: str, name: object, known: Iterable[str], *, hint: str | None = None) -> None:
        name = str(name)
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        message = f"unknown {kind} {name!r}"
        close = difflib.get_close_matches(name.lower(), self.known, n=1, cutoff=0.6)
        message += f"; did you mean {close[0]!r}?" if close else "."
        message += f" Known: {', '.join(self.known) if self.known else '(none registered)'}"
        self.suggestion = close[0] if close else None
        super().__init__(message, hint=hint)

    def __str__(self) -> str:  # LookupError would repr() the message otherwise
        return self.message


def first_line(error: BaseException | str, limit: int = 300) -> str:
    """The first non-empty line of an error's text, whitespace collapsed and cut to ``limit`` characters.

    Third-party libraries raise errors with multi-line texts and tracebacks inside; a user error
    prints one line.
    """
    text = str(error)
    line = next((part for part in text.splitlines() if part.strip()), "") or type(error).__name__
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
