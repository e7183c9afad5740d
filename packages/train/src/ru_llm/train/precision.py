"""The run's precision as the hardware allows it."""

from __future__ import annotations

from ru_llm.train.config import RunConfig


def use_bf16(config: RunConfig) -> bool:
    import torch

    if config.precision == "bf16":
        return True
    on_gpu = torch.cuda.is_available() and config.device != "cpu"
    return config.precision == "auto" and on_gpu and torch.cuda.is_bf16_supported()
