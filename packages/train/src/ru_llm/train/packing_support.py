"""Whether a model architecture keeps packed samples apart, checked on a tiny copy of it.

transformers builds a block-diagonal mask from restarted position ids (and flash-attention uses them
as varlen boundaries) in most decoder models, but not in all (XGLM builds its mask before it reads
the position ids). Rather than keep a list, a two-layer random model of the same class is built from
the real config and asked: does changing one packed sample change another's logits?
"""

from __future__ import annotations

import copy
from typing import Any

from ru_llm.core.errors import ConfigError, first_line
from ru_llm.train.config import RunConfig

_SIZES = {
    ("hidden_size", "n_embd", "d_model"): 32,
    ("num_hidden_layers", "n_layer", "num_layers"): 2,
    ("num_attention_heads", "n_head", "attention_heads"): 2,
    ("num_key_value_heads",): 1,
    ("intermediate_size", "n_inner", "ffn_dim"): 64,
    ("head_dim",): 16,
    ("vocab_size",): 128,
}


def tiny_copy(model_config: Any) -> Any:
    """The same architecture, a few thousand parameters."""
    tiny = copy.deepcopy(model_config)
    for names, value in _SIZES.items():
        for name in names:
            if getattr(tiny, name, None) is not None:
                setattr(tiny, name, value)
    for name in ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id"):
        if isinstance(getattr(tiny, name, None), int):
            setattr(tiny, name, 1)
    if getattr(tiny, "layer_types", None) is not None:
        tiny.layer_types = list(tiny.layer_types)[: tiny.num_hidden_layers]
    return tiny


def packed_samples_are_isolated(model_config: Any, attn_implementation: str | None = None) -> bool:
    import torch
    from transformers import AutoModelForCausalLM

    tiny = tiny_copy(model_config)
    torch.manual_seed(0)
    kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
    model = AutoModelForCausalLM.from_config(tiny, **kwargs).eval()
    first = torch.tensor([[5, 6, 7, 8, 9]])
    second = torch.tensor([[10, 11, 12, 13]])
    positions = torch.tensor([[0, 1, 2, 3, 4, 0, 1, 2, 3]])
    with torch.no_grad():
        packed = model(input_ids=torch.cat([first, second], 1), position_ids=positions, use_cache=False).logits[0, 5:]
        alone = model(input_ids=second, position_ids=positions[:, :4], use_cache=False).logits[0]
    return bool(torch.allclose(packed, alone, atol=1e-4))


def check_packing_support(config: RunConfig, model_config: Any) -> None:
    """Refuse ``packing: true`` for an architecture whose packed samples would see each other."""
    if config.attn_implementation == "flash_attention_2":
        return  # varlen kernels take the boundaries from the position ids
    model_type = getattr(model_config, "model_type", "?")
    try:
        isolated = packed_samples_are_isolated(model_config, config.attn_implementation)
    except Exception as e:  # an architecture the tiny copy cannot be built for
        raise ConfigError(
            f"packing: cannot check that {model_type} keeps packed samples apart ({first_line(e)})",
            hint="set packing: false",
        ) from None
    if not isolated:
        raise ConfigError(
            f"packing: {model_type} models attend across packed samples (their attention ignores restarted "
            "position ids)",
            hint="set packing: false for this model",
        )
