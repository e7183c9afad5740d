"""Random-weight models built from configs (nothing is downloaded) and the workloads they train on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LLAMA_TOKENIZER = REPO / "tests" / "data" / "tokenizers" / "llama2"  # the real LLaMA-2 tokenizer, 32,000 tokens
TEMPLATE = "llama2"

# LLaMA bodies at the two sizes of the goals (parameters with the 32,000-token vocabulary, untied).
LLAMA_SIZES: dict[str, dict[str, int]] = {
    # 0.47B: 24 x (4 x 1024^2 attention + 3 x 1024 x 4096 MLP) + 2 x 32,000 x 1024 embeddings
    "0.5b": {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16},
    # 1.57B: 28 x (4 x 2048^2 + 3 x 2048 x 5632) + 2 x 32,000 x 2048
    "1.5b": {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 28, "num_attention_heads": 16},
    # --smoke: the tests' tiny LLaMA body
    "tiny": {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2},
}

# facebook/wmt21-dense-24-wide-en-x is M2M100 with d_model 2048, 24 + 24 layers, FFN 16384, 32 heads; scaled
# down by two in width and four in depth, FFN still 8 x d_model. The vocabulary is the tests' small
# SentencePiece one (the real model's 128k would make the output projection a larger share).
M2M100_SIZES: dict[str, dict[str, int]] = {
    "wmt21-scaled": {
        "d_model": 1024, "encoder_layers": 6, "decoder_layers": 6, "encoder_attention_heads": 16,
        "decoder_attention_heads": 16, "encoder_ffn_dim": 8192, "decoder_ffn_dim": 8192,
        "max_position_embeddings": 1024,
    },
    "tiny": {
        "d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
        "decoder_attention_heads": 2, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "max_position_embeddings": 256,
    },
}  # fmt: skip


def build_llama(size: str, out: Path, *, context: int, device: str) -> dict[str, Any]:
    """A random LLaMA of ``size`` with the LLaMA-2 tokenizer saved to ``out`` (bf16 safetensors on CUDA, to
    halve the disk traffic; training loads it as its strategy says); returns its shape for the FLOPs."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(LLAMA_TOKENIZER)
    body = LLAMA_SIZES[size]
    config = LlamaConfig(
        vocab_size=len(tokenizer), max_position_embeddings=context, num_key_value_heads=body["num_attention_heads"],
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False, **body,
    )  # fmt: skip
    torch.manual_seed(0)
    with torch.device(device):  # initialising 1.5B parameters on the GPU takes a second, on the CPU a minute
        model = LlamaForCausalLM(config)
    if device.startswith("cuda"):
        model = model.to(torch.bfloat16)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    total = sum(p.numel() for p in model.parameters())
    embedding = model.get_input_embeddings().weight.numel()
    del model
    shape = {
        "parameters": total,
        # every weight but the input embedding is a matmul (the lm_head is untied)
        "matmul_parameters": total - embedding,
        "layers": config.num_hidden_layers,
        "attention_width": config.num_attention_heads * (config.hidden_size // config.num_attention_heads),
        "hidden_size": config.hidden_size,
        "vocab_size": config.vocab_size,
    }
    (out / "shape.json").write_text(json.dumps(shape), encoding="utf-8")
    return shape


def build_m2m100(size: str, out: Path) -> Path:
    """A random M2M100 (WMT21's architecture) of ``size`` with the tests' M2M100 tokenizer."""
    import torch
    from kit.tiny_models import build_tiny_model
    from transformers import M2M100Config, M2M100ForConditionalGeneration

    build_tiny_model("m2m100", out)  # the tokenizer (language codes and all) and a config sized for it
    config = M2M100Config.from_pretrained(out)
    for key, value in M2M100_SIZES[size].items():
        setattr(config, key, value)
    torch.manual_seed(0)
    model = M2M100ForConditionalGeneration(config)
    for leftover in out.glob("*.safetensors"):
        leftover.unlink()
    model.save_pretrained(out)
    return out


def conversations_file(out: Path, count: int) -> Path:
    """``count`` real instruction conversations (the bundled OASST threads and Dolly rows, repeated under
    new ids): real lengths, so padding and packing behave as on instruction data."""
    from kit.train_data import dolly_conversations, oasst_conversations, write_jsonl

    pool = [c.to_dict() for c in oasst_conversations()] + dolly_conversations()
    records = [{**pool[i % len(pool)], "id": f"c{i}"} for i in range(count)]
    return write_jsonl(out, records)


def preference_file(out: Path, count: int) -> Path:
    """``count`` real preference pairs (OASST ranked sibling replies), repeated under new ids."""
    from kit.train_data import oasst_preference_pairs, write_jsonl

    pool = oasst_preference_pairs()
    return write_jsonl(out, [{**pool[i % len(pool)], "id": f"p{i}"} for i in range(count)])


def encoded_samples(data: Path, tokenizer: Any, max_length: int) -> list[Any]:
    """The conversations of ``data`` encoded exactly as a run encodes them (template, assistant-only labels)."""
    from ru_llm.core.jsonl import read_conversations
    from ru_llm.dataset.templates.hf import resolve_template
    from ru_llm.train.data.encode import ConversationEncoder, EncodeStats, encode_all

    convs = list(read_conversations(data))
    encoder = ConversationEncoder(resolve_template(TEMPLATE, tokenizer), tokenizer, max_length=max_length)
    return encode_all(convs, encoder, on_reject=lambda reject: None, stats=EncodeStats())
