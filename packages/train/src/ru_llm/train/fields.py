"""Dataclass fields with help text, written once (PEFT-style ``metadata={"help": ...}``).

The help feeds error messages, ``ru-llm train presets`` and the docs; every settings dataclass of the
run config (the run's own and each strategy's block) declares its fields with :func:`help_field`.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any


def help_field(text: str, **kwargs: Any) -> Any:
    """A ``dataclasses.field`` whose ``metadata["help"]`` is ``text`` (other arguments as ``field``'s)."""
    return field(metadata={"help": text}, **kwargs)
