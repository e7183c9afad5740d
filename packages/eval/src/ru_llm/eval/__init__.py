"""ru-llm-eval: evaluation tasks (MMLU, MMLU-RU, perplexity, ...), the models that answer them, reports.

Importing it is cheap: torch and transformers are imported by the code that evaluates.
"""

from ru_llm.core.plugins import add_package
from ru_llm.eval.registry import eval_models, eval_tasks, get_model_kind, get_task, metrics

add_package("ru-llm-eval", hookspecs="ru_llm.eval.hookspecs", builtins=("ru_llm.eval.tasks", "ru_llm.eval.models"))

__all__ = ["eval_models", "eval_tasks", "get_model_kind", "get_task", "metrics"]
