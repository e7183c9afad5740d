"""The ``ru-llm`` console script."""

from __future__ import annotations

from ru_llm.cli.app import build_app
from ru_llm.cli.errors import exit_with_user_error
from ru_llm.core.errors import RuLLMError


def main(argv: list[str] | None = None) -> None:
    """Build the app (loading plugins) and run it; user errors print one line and exit 1."""
    try:
        app = build_app()
    except RuLLMError as error:  # a broken plugin, before any command runs
        exit_with_user_error(error)
    app(args=argv, prog_name="ru-llm")


if __name__ == "__main__":
    main()
