"""The built-in evaluation tasks, registered through the same hook as third-party ones."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookimpl


@hookimpl
def register_metrics(register: Callable[..., object]) -> None:
    from ru_llm.eval.tasks.mmlu import MMLU, MMLU_RU
    from ru_llm.eval.tasks.perplexity import Perplexity

    register(MMLU)
    register(MMLU_RU)
    register(Perplexity())
