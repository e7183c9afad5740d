"""Ruadapt stages 1 and 2: only the embedding matrices train (all rows or only the new ones); LoRA + embeddings."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from ru_llm.train.configfile import resolve_config
from ru_llm.train.run import train

pytestmark = pytest.mark.slow


def _changed(before: torch.nn.Module, after: torch.nn.Module) -> set[str]:
    old = before.state_dict()
    return {k for k, v in after.state_dict().items() if not torch.equal(v, old[k])}


def test_stage_one_trains_only_the_embedding_matrices(run_config, tiny_model) -> None:
    config, _ = resolve_config(run_config("llama-small", strategy="embeddings", template="saiga", max_steps=3))
    result = train(config, progress=False)
    changed = _changed(
        AutoModelForCausalLM.from_pretrained(tiny_model("llama-small")),
        AutoModelForCausalLM.from_pretrained(result.output_dir),
    )
    assert changed == {"model.embed_tokens.weight", "lm_head.weight"}


def test_only_the_new_rows_train_and_the_old_ones_stay_exact(run_config, tiny_model) -> None:
    first_new = 900  # the tiny GPT-2 has 1000 tokens and tied embeddings: pretend the last 100 are new
    config, _ = resolve_config(
        run_config("gpt2", strategy="embeddings", max_steps=3, embeddings={"train": "new", "first_new_row": first_new})
    )
    result = train(config, progress=False)
    base = AutoModelForCausalLM.from_pretrained(tiny_model("gpt2"))
    trained = AutoModelForCausalLM.from_pretrained(result.output_dir)
    old, new = base.get_input_embeddings().weight, trained.get_input_embeddings().weight
    assert torch.equal(new[:first_new], old[:first_new])
    assert not torch.equal(new[first_new:], old[first_new:])
    assert _changed(base, trained) == {"transformer.wte.weight", "lm_head.weight"} or _changed(base, trained) == {
        "transformer.wte.weight"
    }


def test_new_rows_only_refuses_weight_decay(run_config, cli) -> None:
    from kit.train_data import one_line_error

    config = run_config(
        "gpt2",
        strategy="embeddings",
        embeddings={"train": "new", "first_new_row": 900},
        optimizer={"weight_decay": 0.1},
    )
    assert "needs optimizer.weight_decay 0" in one_line_error(cli("train", "run", config))
    missing = run_config("gpt2", name="m.yaml", strategy="embeddings", embeddings={"train": "new"})
    assert "needs embeddings.first_new_row" in one_line_error(cli("train", "run", missing))


def test_stage_two_lora_with_embeddings_at_their_own_learning_rate(run_config, tiny_model) -> None:
    from peft import AutoPeftModelForCausalLM
    from transformers import TrainerCallback

    seen: list[list[float]] = []

    class Rates(TrainerCallback):
        def on_step_end(self, args, state, control, optimizer=None, **kwargs):  # type: ignore[no-untyped-def]
            seen.append([group["lr"] for group in optimizer.param_groups])

    config, _ = resolve_config(
        run_config(
            "llama-small", template="saiga", max_steps=2, lora={"train_embeddings": True}, embeddings={"lr": 1e-4}
        )
    )
    result = train(config, progress=False, callbacks=[Rates()])
    assert seen and seen[0] == [1e-2, 1e-4]  # LoRA at optimizer.lr, the embedding copies at embeddings.lr
    adapted = AutoPeftModelForCausalLM.from_pretrained(result.output_dir)
    base = AutoModelForCausalLM.from_pretrained(tiny_model("llama-small"))
    merged = adapted.merge_and_unload()
    assert not torch.equal(merged.get_input_embeddings().weight, base.get_input_embeddings().weight)
    assert not torch.equal(merged.get_output_embeddings().weight, base.get_output_embeddings().weight)


def test_lora_on_the_first_and_last_layers_only(run_config) -> None:
    from peft import AutoPeftModelForCausalLM

    config, _ = resolve_config(run_config("llama-small", template="saiga", max_steps=1, lora={"layers": [0, -1]}))
    result = train(config, progress=False)
    adapted = AutoPeftModelForCausalLM.from_pretrained(result.output_dir)
    layers = {
        int(name.split(".layers.")[1].split(".")[0]) for name, _ in adapted.named_parameters() if "lora_A" in name
    }
    assert layers == {0, adapted.config.num_hidden_layers - 1}
