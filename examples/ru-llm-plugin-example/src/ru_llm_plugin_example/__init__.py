"""Example ru-llm plugin: the Phi-3 model family and its chat template.

Registered through the ``ru_llm`` entry point in this distribution's pyproject.toml. Everything a
plugin does happens inside hook calls; importing this module has no side effects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ru_llm.core import Conversation, ModelFamily, hookimpl
from ru_llm.dataset import Segment

PHI3 = ModelFamily(
    name="phi3",
    model_types=("phi3",),
    # Phi-3 fuses the query, key and value projections into one qkv_proj.
    lora_target_modules=("qkv_proj", "o_proj"),
    default_template="phi3",
    pad_token="<|endoftext|>",
    adds_bos=False,
    aliases=("phi-3", "phi3.5"),
    description="Microsoft Phi-3 and Phi-3.5 (example plugin)",
)


@dataclass(frozen=True)
class Phi3Template:
    """``<|role|>\\n{content}<|end|>\\n`` per turn; assistant content and its ``<|end|>`` are trained."""

    name: str = "phi3"
    aliases: tuple[str, ...] = ()

    def render(self, conversation: Conversation) -> list[Segment]:
        segments = []
        for message in conversation.messages:
            if message.role == "assistant":
                segments.append(Segment("<|assistant|>\n", False))
                segments.append(Segment(f"{message.content}<|end|>", True))
                segments.append(Segment("\n", False))
            else:
                segments.append(Segment(f"<|{message.role}|>\n{message.content}<|end|>\n", False))
        return segments

    def render_prompt(self, conversation: Conversation) -> str:
        return "".join(s.text for s in self.render(conversation)) + "<|assistant|>\n"


@hookimpl
def register_model_families(register: Callable[..., object]) -> None:
    register(PHI3)


@hookimpl
def register_templates(register: Callable[..., object]) -> None:
    register(Phi3Template())
