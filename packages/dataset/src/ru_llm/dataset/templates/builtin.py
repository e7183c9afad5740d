"""Built-in chat templates, registered through ``register_templates`` like any plugin's."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookimpl
from ru_llm.dataset.templates.formats import QWEN_SYSTEM, ChatML, HumanAssistant, Llama2, Llama3, Mistral, Saiga
from ru_llm.dataset.templates.hf import HFTemplate


@hookimpl
def register_templates(register: Callable[..., object]) -> None:
    register(HumanAssistant())
    register(Saiga())
    register(ChatML())
    # Qwen2.5's official template adds this system prompt when there is none; this one matches it exactly.
    register(ChatML("qwen2.5", default_system=QWEN_SYSTEM, description="ChatML with Qwen2.5's default system"))
    register(Llama2())
    register(Llama3())
    register(Mistral())
    register(HFTemplate())
