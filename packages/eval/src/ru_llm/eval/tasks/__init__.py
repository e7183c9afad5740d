"""The built-in evaluation tasks, registered through the same hook as third-party ones."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookimpl


@hookimpl
def register_eval_tasks(register: Callable[..., object]) -> None:
    from ru_llm.eval.tasks.copy import Copy
    from ru_llm.eval.tasks.mmlu import MMLU, MMLU_RU
    from ru_llm.eval.tasks.mt_bench import MT_BENCH, MT_BENCH_RU
    from ru_llm.eval.tasks.perplexity import Perplexity
    from ru_llm.eval.tasks.speed import GenerationSpeed
    from ru_llm.eval.tasks.tokenizer_efficiency import TokenizerEfficiency

    register(MMLU)
    register(MMLU_RU)
    register(Perplexity())
    register(Copy())
    register(GenerationSpeed())
    register(TokenizerEfficiency())
    register(MT_BENCH)
    register(MT_BENCH_RU)
