"""`ru-llm train run`: each strategy trains, saves what transformers/peft reload, and documents the run."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch
import yaml

from ru_llm.train.configfile import resolve_config
from ru_llm.train.run import train

pytestmark = pytest.mark.slow


def _losses(out: Path) -> dict[int, float]:
    lines = (out / "metrics.jsonl").read_text(encoding="utf-8").split("\n")
    return {r["step"]: r["loss"] for r in map(json.loads, filter(None, lines)) if "loss" in r}


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_lora_trains_only_the_adapters_and_saves_a_peft_adapter_with_our_template(run_config, tiny_model) -> None:
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # LoRA on lm_head too: the tiny model's attention alone cannot move its near-uniform logits. llama-small
    # (1,000 pieces): twelve steps of five conversations over LLaMA-2's 32k-way logits took ~12 s
    targets = ["q_proj", "v_proj", "lm_head"]
    config, _ = resolve_config(
        run_config("llama-small", max_steps=12, batch_size=5, template="saiga", lora={"target_modules": targets})
    )
    result = train(config, progress=False)
    out = result.output_dir
    losses = _losses(out)
    assert sorted(losses) == list(range(1, 13))
    assert losses[12] < losses[1] - 1.0, losses  # overfitting five conversations
    for name in ("adapter_config.json", "adapter_model.safetensors", "config.resolved.yaml", "metrics.jsonl",
                 "loss.png", "README.md", "rejects.jsonl", "train_report.json", "tokenizer_config.json"):  # fmt: skip
        assert (out / name).is_file(), name
    assert not (out / "model.safetensors").exists()

    base = AutoModelForCausalLM.from_pretrained(tiny_model("llama-small"))
    adapted = AutoPeftModelForCausalLM.from_pretrained(out)
    base_state = base.state_dict()
    changed = {k for k, v in adapted.state_dict().items() if "lora_" not in k}
    for key in changed:  # every base weight is exactly the original
        plain = key.replace("base_model.model.", "").replace(".base_layer", "")
        assert torch.equal(adapted.state_dict()[key], base_state[plain]), key
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in adapted.state_dict().items())

    tokenizer = AutoTokenizer.from_pretrained(out)
    messages = [{"role": "user", "content": "Привет"}, {"role": "assistant", "content": "Здравствуйте"}]
    from ru_llm.core.conversation import conversation
    from ru_llm.dataset.registry import get_template

    trained_text = "".join(
        s.text for s in get_template("saiga").render(conversation("x", [(m["role"], m["content"]) for m in messages]))
    )
    assert tokenizer.apply_chat_template(messages, tokenize=False) == trained_text
    prompt = tokenizer.apply_chat_template(messages[:1], tokenize=True, add_generation_prompt=True, return_tensors="pt")
    ids = prompt["input_ids"] if hasattr(prompt, "keys") else prompt
    generated = adapted.generate(ids, max_new_tokens=3, do_sample=False)
    assert generated.shape[1] == ids.shape[1] + 3

    card = (out / "README.md").read_text(encoding="utf-8")
    assert "CC-BY-SA-3.0" in card and "library_name: peft" in card and "lora:" in card
    assert "\ndpo:" not in card and "\ncpt:" not in card and "\nfull:" not in card  # only the strategy that ran
    resolved = yaml.safe_load((out / "config.resolved.yaml").read_text(encoding="utf-8"))
    assert resolved["lora"]["r"] == 4 and resolved["strategy"] == "lora"
    assert {"dpo", "cpt", "full", "embeddings"} <= resolved.keys()  # the file itself keeps every key


def test_full_training_changes_every_parameter_and_saves_a_model(run_config, tiny_model) -> None:
    from transformers import AutoModelForCausalLM

    config, _ = resolve_config(
        run_config("gpt2", strategy="full", max_steps=10, train_on="all", optimizer={"lr": 5e-3})
    )
    result = train(config, progress=False)
    losses = _losses(result.output_dir)
    assert losses[10] < losses[1] - 0.5, losses
    base = AutoModelForCausalLM.from_pretrained(tiny_model("gpt2"))
    trained = AutoModelForCausalLM.from_pretrained(result.output_dir)
    assert (result.output_dir / "model.safetensors").is_file()
    unchanged = [
        name
        for (name, p), (_, q) in zip(base.named_parameters(), trained.named_parameters(), strict=True)
        if torch.equal(p, q)
    ]
    assert unchanged == []
    assert trained.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=2, do_sample=False).shape == (1, 5)


def test_validation_split_is_evaluated_with_perplexity(run_config, tmp_path) -> None:
    from kit.train_data import dolly_conversations, write_jsonl

    build = tmp_path / "built"
    build.mkdir()
    convs = dolly_conversations()
    write_jsonl(build / "train.jsonl", convs[:4])
    write_jsonl(build / "validation.jsonl", convs[4:])
    # qwen2-small: Qwen2 with ChatML on a pruned vocabulary (the evaluation, not the 151k head, is the subject)
    values = {"data": str(build), "eval_steps": 2, "max_steps": 4, "template": "chatml"}
    config, _ = resolve_config(run_config("qwen2-small", **values))
    result = train(config, progress=False)
    records = [json.loads(x) for x in (result.output_dir / "metrics.jsonl").read_text().split("\n") if x]
    evals = [r for r in records if "eval_loss" in r]
    assert [r["step"] for r in evals] == [2, 4]
    assert all(abs(r["eval_perplexity"] - __import__("math").exp(r["eval_loss"])) < 1e-3 for r in evals)
    assert "eval_loss" in result.final and "eval_perplexity" in result.final


def test_an_interrupted_run_saves_a_checkpoint_and_resumes_to_the_same_losses(run_config, tmp_path) -> None:
    from transformers import TrainerCallback

    common = {"max_steps": 6, "save_steps": 3, "batch_size": 1, "lora": {"dropout": 0.1}}
    straight, _ = resolve_config(run_config("llama-small", name="a.yaml", output_dir=str(tmp_path / "a"), **common))
    train(straight, progress=False)
    expected = _losses(tmp_path / "a")

    class KillAtStep2(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            if state.global_step == 2:
                os.kill(os.getpid(), signal.SIGTERM)

    config, _ = resolve_config(run_config("llama-small", name="b.yaml", output_dir=str(tmp_path / "b"), **common))
    first = train(config, progress=False, callbacks=[KillAtStep2()])
    assert first.interrupted == "SIGTERM" and first.steps == 2
    assert (tmp_path / "b" / "checkpoint-2").is_dir() and not (tmp_path / "b" / "README.md").exists()
    assert not (tmp_path / "b" / "adapter_model.safetensors").exists()

    second = train(config, progress=False)
    assert second.resumed_from is not None and second.resumed_from.endswith("checkpoint-2")
    resumed = _losses(tmp_path / "b")
    assert sorted(resumed) == sorted(expected)
    for step in expected:
        assert resumed[step] == pytest.approx(expected[step], abs=1e-6), step
