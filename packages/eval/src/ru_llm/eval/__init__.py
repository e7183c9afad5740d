"""ru-llm-eval: evaluation tasks (MMLU, MMLU-RU, MT-Bench-RU, ...), judges and reports."""

from ru_llm.core.plugins import add_package
from ru_llm.eval.registry import metrics

add_package("ru-llm-eval", hookspecs="ru_llm.eval.hookspecs")

__all__ = ["metrics"]
