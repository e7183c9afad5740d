"""How the command line reports a user error: one line with a hint, exit code 1."""

from __future__ import annotations

import sys
from typing import NoReturn

from ru_llm.core.errors import RuLLMError
from ru_llm.core.plugins import env_flag

DEBUG_ENV = "RU_LLM_DEBUG"


def format_user_error(error: RuLLMError) -> str:
    """``Error: <what> (hint: <what to do>)`` on one line (newlines in the message are folded)."""
    message = " ".join(str(error).split())
    hint = error.hint or f"set {DEBUG_ENV}=1 for the full traceback"
    return f"Error: {message} (hint: {' '.join(hint.split())})"


def exit_with_user_error(error: RuLLMError) -> NoReturn:
    """Print the error as one line and exit 1; with ``RU_LLM_DEBUG=1`` re-raise it for the traceback."""
    if env_flag(DEBUG_ENV):
        raise error
    # Plain stderr, not rich: messages may contain [brackets] that rich would read as markup.
    print(format_user_error(error), file=sys.stderr, flush=True)
    raise SystemExit(1)
