"""The built-in model kinds, registered through the same hook as third-party ones: ``hf`` (run here),
``openai-chat`` (a served chat model) and ``openai-completions`` (a served model with prompt log-probabilities)."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookimpl


@hookimpl
def register_eval_models(register: Callable[..., object]) -> None:
    from ru_llm.eval.models.hf import HFKind
    from ru_llm.eval.models.openai_chat import OpenAIChatKind
    from ru_llm.eval.models.openai_completions import OpenAICompletionsKind

    register(HFKind())
    register(OpenAIChatKind())
    register(OpenAICompletionsKind())
