"""Built-in model families, registered through the same hook a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.families import ModelFamily
from ru_llm.core.plugins import hookimpl

# The paper's LoRA runs adapted the four attention projections.
ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")

BUILTIN_FAMILIES = (
    ModelFamily(
        name="llama",
        model_types=("llama",),
        lora_target_modules=ATTENTION_PROJECTIONS,
        default_template="llama2",
        pad_token="<unk>",
        aliases=("llama2", "llama-2"),
        description="LLaMA-1 and LLaMA-2 (SentencePiece vocabulary of 32,000)",
    ),
    ModelFamily(
        name="llama3",
        model_types=("llama",),
        lora_target_modules=ATTENTION_PROJECTIONS,
        default_template="llama3",
        # LLaMA-3 shares model_type "llama" with LLaMA-2; its BOS id tells it apart (it survives
        # vocabulary extension, which keeps every base id).
        config_match={"bos_token_id": 128000},
        pad_token="<|finetune_right_pad_id|>",
        aliases=("llama-3",),
        description="LLaMA-3, 3.1, 3.2 (tiktoken-style byte-level BPE of 128,256)",
    ),
    ModelFamily(
        name="mistral",
        model_types=("mistral",),
        lora_target_modules=ATTENTION_PROJECTIONS,
        default_template="mistral",
        pad_token="<unk>",
        description="Mistral-7B and Mistral-Nemo",
    ),
    ModelFamily(
        name="qwen2",
        model_types=("qwen2", "qwen3"),
        lora_target_modules=ATTENTION_PROJECTIONS,
        default_template="chatml",
        pad_token="<|endoftext|>",
        adds_bos=False,
        aliases=("qwen", "qwen2.5", "qwen3"),
        description="Qwen2, Qwen2.5 and Qwen3 (small sizes tie their embeddings: the config says)",
    ),
    ModelFamily(
        name="gemma",
        model_types=("gemma", "gemma2", "gemma3_text"),
        lora_target_modules=ATTENTION_PROJECTIONS,
        tied_embeddings=True,
        default_template="hf",
        description="Gemma, Gemma-2 and Gemma-3 text models",
    ),
    ModelFamily(
        name="xglm",
        model_types=("xglm",),
        # XGLM names its attention output projection out_proj, as in the paper's LoRA runs.
        lora_target_modules=("q_proj", "k_proj", "v_proj", "out_proj"),
        tied_embeddings=True,
        default_template="human_assistant",
        description="XGLM (facebook/xglm-564M ... 7.5B); its tokenizer starts every text with </s>",
    ),
    ModelFamily(
        name="gpt2",
        model_types=("gpt2",),
        # GPT-2 fuses q/k/v into one Conv1D (c_attn); attn.c_proj is its output projection.
        lora_target_modules=("c_attn", "attn.c_proj"),
        input_embeddings="transformer.wte",
        tied_embeddings=True,
        default_template="human_assistant",
        pad_token="<|endoftext|>",
        adds_bos=False,
        lora_fan_in_fan_out=True,
        aliases=("gpt2-style", "rugpt", "rugpt-3.5"),
        description="GPT-2 style models, ruGPT-3 and ruGPT-3.5",
    ),
)


@hookimpl
def register_model_families(register: Callable[..., object]) -> None:
    for family in BUILTIN_FAMILIES:
        register(family)
