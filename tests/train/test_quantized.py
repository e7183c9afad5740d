"""LoRA on an int8 / NF4 bitsandbytes base: trains on CPU, changes only the adapters, reloads unquantised."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from kit.train_data import one_line_error

from ru_llm.train.configfile import resolve_config
from ru_llm.train.run import train


def _snapshot(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}


@pytest.mark.slow
@pytest.mark.parametrize(("quantization", "layer"), [("int8", "Linear8bitLt"), ("nf4", "Linear4bit")])
def test_lora_on_a_quantised_base_trains_only_the_adapters_and_reloads_on_a_plain_base(
    run_config: Callable[..., Path], tiny_model: Callable[[str], Path], quantization: str, layer: str
) -> None:
    pytest.importorskip("bitsandbytes")
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM, TrainerCallback

    class Watch(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):  # type: ignore[no-untyped-def]
            self.layers = {type(m).__name__ for n, m in model.named_modules() if n.endswith("q_proj.base_layer")}
            self.trainable = [n for n, p in model.named_parameters() if p.requires_grad]
            self.before = _snapshot(model)

        def on_train_end(self, args, state, control, model=None, **kwargs):  # type: ignore[no-untyped-def]
            self.after = _snapshot(model)

    watch = Watch()
    config, _ = resolve_config(run_config("llama", max_steps=4, lora={"quantization": quantization}))
    result = train(config, progress=False, callbacks=[watch])
    assert result.steps == 4 and all(math.isfinite(v) for v in result.final.values())

    assert watch.layers == {layer}  # the base really is quantised by bitsandbytes
    assert watch.trainable and all("lora_" in n for n in watch.trainable), watch.trainable
    changed = {k for k, v in watch.before.items() if not torch.equal(v, watch.after[k])}
    assert changed and all("lora_" in k for k in changed), sorted(changed)
    assert any("lora_B" in k for k in changed) and any("lora_A" in k for k in changed)

    out = result.output_dir
    assert (out / "adapter_model.safetensors").is_file() and not (out / "model.safetensors").exists()
    # peft puts the adapter on the plain (unquantised) base named in adapter_config.json
    adapted = AutoPeftModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    base_state = AutoModelForCausalLM.from_pretrained(tiny_model("llama"), dtype=torch.float32).state_dict()
    reloaded = adapted.state_dict()
    assert not any("SCB" in k or "absmax" in k or "quant" in k for k in reloaded)
    for key, value in reloaded.items():
        if "lora_" in key:
            assert torch.equal(value, watch.after[key].float()), key
        else:
            assert torch.equal(value, base_state[key.replace("base_model.model.", "").replace(".base_layer", "")]), key
    ids = torch.tensor([[1, 5, 9, 13]])
    with torch.no_grad(), adapted.disable_adapter():
        plain = adapted(ids).logits
    assert not torch.allclose(adapted(ids).logits, plain)


@pytest.mark.slow
def test_importing_bitsandbytes_through_the_lora_check_prints_no_kernels_warning(tmp_path: Path) -> None:
    pytest.importorskip("bitsandbytes")
    code = (
        "from ru_llm.train.config import LoraSettings, RunConfig\n"
        "from ru_llm.train.strategies.lora import LoraFineTuning\n"
        "c = RunConfig(strategy='lora', model='m', output_dir='o', lora=LoraSettings(quantization='nf4'))\n"
        "LoraFineTuning().check(c)\n"
        "import transformers, peft\n"
    )
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "kernels-community" not in done.stderr, done.stderr


def test_quantisation_without_bitsandbytes_installed_is_one_line_before_anything_is_written(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    import ru_llm.core.deps

    real = importlib.import_module

    def without_bitsandbytes(name: str, package: str | None = None) -> Any:
        if name == "bitsandbytes" or name.startswith("bitsandbytes."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, package)

    monkeypatch.setattr(ru_llm.core.deps.importlib, "import_module", without_bitsandbytes)
    # a model directory and data that only look right: the dependency is checked before either is read
    (tmp_path / "model").mkdir()
    for name in ("config.json", "tokenizer.json"):
        (tmp_path / "model" / name).write_text("{}", encoding="utf-8")
    (tmp_path / "data.jsonl").write_text("not read\n", encoding="utf-8")
    for quantization in ("int8", "nf4"):
        config = tmp_path / "run.yaml"
        values = {"strategy": "lora", "model": str(tmp_path / "model"), "data": str(tmp_path / "data.jsonl")}
        values.update(output_dir=str(tmp_path / "out"), lora={"quantization": quantization})
        config.write_text(yaml.safe_dump(values), encoding="utf-8")
        line = one_line_error(cli("train", "run", config))
        assert f"lora.quantization: {quantization} needs bitsandbytes, which is not installed" in line
        assert 'pip install "ru-llm-train[bitsandbytes]"' in line
        assert not (tmp_path / "out").exists()
