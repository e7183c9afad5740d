"""ru-llm-translate: MT backends, format-preserving segmentation, quality checks, translation engine."""

from ru_llm.core.plugins import add_package
from ru_llm.translate.registry import get_translator, translators

add_package("ru-llm-translate", hookspecs="ru_llm.translate.hookspecs", builtins=("ru_llm.translate.backends.builtin",))

__all__ = ["get_translator", "translators"]
