"""`ru-llm train merge`: the merged model computes what base + adapter computed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from kit.train_data import one_line_error

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("family", "lora"),
    [
        ("llama", {}),
        # GPT-2 ties wte and lm_head; modules_to_save trains a full copy of a block's MLP projection
        ("gpt2", {"modules_to_save": ["mlp.c_fc"]}),
    ],
)
def test_merged_logits_equal_the_adapter_model(run_config, cli, tmp_path: Path, family: str, lora: dict) -> None:
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    config = run_config(family, max_steps=3, lora=lora, template="saiga" if family == "llama" else None)
    assert cli("train", "run", config).exit_code == 0
    adapter = tmp_path / "out"
    merged_dir = tmp_path / "merged"
    result = cli("train", "merge", adapter, "--out", merged_dir)
    assert result.exit_code == 0, result.output
    assert (merged_dir / "model.safetensors").is_file() and not (merged_dir / "adapter_config.json").exists()

    ids = torch.tensor([[1, 5, 9, 13, 17, 21, 25]])
    with torch.no_grad():
        expected = AutoPeftModelForCausalLM.from_pretrained(adapter).eval()(ids).logits
        merged = AutoModelForCausalLM.from_pretrained(merged_dir).eval()
        assert torch.allclose(merged(ids).logits, expected, atol=1e-5)
    if family == "gpt2":
        assert merged.lm_head.weight.data_ptr() == merged.transformer.wte.weight.data_ptr()  # still tied


def test_merge_refuses_what_is_not_an_adapter(cli, tmp_path: Path) -> None:
    assert "no adapter_config.json" in one_line_error(cli("train", "merge", tmp_path, "--out", tmp_path / "m"))
