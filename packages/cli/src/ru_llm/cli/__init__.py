"""ru-llm: the command line that composes the ru-llm packages."""

from ru_llm.cli.app import build_app

__all__ = ["build_app"]
