"""TRL, which ``dpo`` and its reference-free losses train with, imported with an install hint when missing."""

from __future__ import annotations

from typing import Any


def require_trl(purpose: str = "strategy: dpo") -> Any:
    """The ``trl`` module; a one-line error naming the extra to install when it is absent."""
    from ru_llm.core.deps import require

    return require("trl", purpose=purpose, package="ru-llm-train", extra="dpo")
