"""How the command line reports a user error: one line and a hint, exit code 1."""

from __future__ import annotations

import os
import sys

from ru_llm.core.errors import RuLLMError

DEBUG_ENV = "RU_LLM_DEBUG"


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def format_user_error(error: RuLLMError) -> str:
    """``Error: <what>. Hint: <what to do>`` on one line (newlines in the message are folded)."""
    message = " ".join(str(error).split())
    hint = error.hint or f"set {DEBUG_ENV}=1 for the full traceback"
    return f"Error: {message} (hint: {' '.join(hint.split())})"


def report_user_error(error: RuLLMError) -> None:
    # Plain stderr, not rich: messages may contain [brackets] that rich would read as markup.
    print(format_user_error(error), file=sys.stderr, flush=True)
