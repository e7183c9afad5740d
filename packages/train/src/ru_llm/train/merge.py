"""Merging a LoRA adapter into its base: a plain transformers model directory (safetensors + tokenizer)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError, first_line


@dataclass
class MergeResult:
    base: str
    out: Path


_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def merge_adapter(adapter: Path, out: Path, *, base: str | None = None, dtype: str = "auto") -> MergeResult:
    """``merge_and_unload`` the adapter (LoRA deltas, ``modules_to_save`` copies) and save the result.

    Tied input/output embeddings stay tied: peft merges into the shared matrix once.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ru_llm.core.atomic import atomic_directory

    settings = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    base = base or settings.get("base_model_name_or_path")
    if not base:
        raise ConfigError(f"{adapter}: the adapter names no base model", hint="pass --base")
    torch_dtype: Any = getattr(torch, _DTYPES[dtype]) if dtype != "auto" else "auto"
    try:
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype)
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"--base {base}: cannot load the base model: {first_line(e)}", hint="pass --base DIR"
        ) from None
    try:
        merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    except (ValueError, RuntimeError, KeyError) as e:
        raise ConfigError(f"{adapter}: the adapter does not fit {base}: {first_line(e)}") from None
    tokenizer_dir = adapter if (adapter / "tokenizer_config.json").is_file() else Path(base)
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    with atomic_directory(out, command="train merge") as work:
        merged.save_pretrained(str(work), safe_serialization=True)
        tokenizer.save_pretrained(str(work))
    return MergeResult(str(base), out)
