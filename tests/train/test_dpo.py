"""``strategy: dpo``: preference tuning with TRL's DPOTrainer on tiny random models and real OASST pairs.

The pairs are real (OASST replies ranked by people: best = chosen, worst = rejected). A few
full-batch steps must raise what DPO optimises: the policy's log-probability of the chosen reply
relative to the rejected one, measured here independently of TRL's logged rewards, from the saved
outputs reloaded the way users load them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from kit.train_data import oasst_preference_pairs, one_line_error, write_jsonl

from ru_llm.core.families import model_family_for
from ru_llm.dataset.preference import preference_from_dict
from ru_llm.train.configfile import resolve_config
from ru_llm.train.run import load_model_config, load_run_tokenizer

PAIRS = 8
# DPO scores every token of both replies with the policy and the reference: over LLaMA-2's 32k vocabulary
# that head dominated these tests (about 4 CPU-minutes); the same model with a 1,000-piece vocabulary
# runs every code path at a fraction of it.
MODEL = "llama-small"


def _short_pairs(n: int = PAIRS) -> list[dict[str, Any]]:
    """Real pairs whose prompt leaves room for the replies in the tiny models' 256-token context."""
    return [p for p in oasst_preference_pairs() if sum(len(m["content"]) for m in p["messages"]) < 150][:n]


def _metrics(out: Path) -> list[dict[str, Any]]:
    lines = (out / "metrics.jsonl").read_text(encoding="utf-8").split("\n")
    return [m for m in map(json.loads, filter(None, lines)) if "loss" in m]


def _pair_margins(model: Any, config_path: Path, pairs: list[dict[str, Any]]) -> list[float]:
    """log p(chosen | prompt) - log p(rejected | prompt) per pair, with the run's own template and tokens."""
    from ru_llm.dataset.templates.preference import tokenize_preference
    from ru_llm.train.datasets import resolve_run_template

    config, _ = resolve_config(config_path)
    model_config = load_model_config(config)
    family = model_family_for(model_config)
    tokenizer = load_run_tokenizer(config, family)
    template = resolve_run_template(config, family, tokenizer)
    margins = []
    model.eval()
    for record in pairs:
        pair = preference_from_dict(record)
        tokens = tokenize_preference(
            pair.prompt, pair.chosen, pair.rejected, template, tokenizer, max_length=config.max_length
        )
        logps = []
        for reply in (tokens.chosen_ids, tokens.rejected_ids):
            ids = torch.tensor([tokens.prompt_ids + reply])
            with torch.no_grad():
                logits = model(input_ids=ids).logits[0, :-1].float()
            picked = torch.log_softmax(logits, -1).gather(1, ids[0, 1:, None])[:, 0]
            logps.append(float(picked[len(tokens.prompt_ids) - 1 :].sum()))
        margins.append(logps[0] - logps[1])
    return margins


def _dpo_config(run_config: Callable[..., Path], tmp_path: Path, family: str = MODEL, **values: Any) -> Path:
    data = values.pop("data", None) or str(write_jsonl(tmp_path / "pairs.jsonl", _short_pairs()))
    defaults: dict[str, Any] = {
        "strategy": "dpo",
        "data": data,
        "batch_size": PAIRS,  # one full batch per step: every step optimises the same pairs
        "max_steps": 4,
        "optimizer": {"lr": 2e-2, "scheduler": "constant"},
        "dpo": {"beta": 0.1},
    }
    for key, value in values.items():
        defaults[key] = {**defaults[key], **value} if isinstance(value, dict) and key in defaults else value
    return run_config(family, **defaults)


@pytest.mark.slow
def test_lora_dpo_raises_the_chosen_log_probability_relative_to_the_rejected(run_config, cli, tmp_path, tiny_model):
    from peft import PeftModel
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    config = _dpo_config(run_config, tmp_path)
    result = cli("train", "run", config)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    metrics = _metrics(out)
    for key in ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"):
        assert all(key in m for m in metrics), key
    assert metrics[-1]["rewards/margins"] > metrics[0]["rewards/margins"]
    assert metrics[-1]["rewards/margins"] > 0
    assert (out / "loss.png").stat().st_size > 0
    report = json.loads((out / "train_report.json").read_text(encoding="utf-8"))
    assert report["final"]["rewards/margins"] == pytest.approx(metrics[-1]["rewards/margins"])
    assert report["data"]["records"] == PAIRS == report["data"]["used"]
    # every step trains all pairs (one full batch): tokens seen are exactly four times the data's
    assert report["tokens_seen"] == 4 * report["data"]["tokens"] == metrics[-1]["tokens_seen"]

    # only our adapter is saved (TRL's frozen "ref" copy is not), and it reloads with peft
    with safe_open(str(out / "adapter_model.safetensors"), "pt") as fh:
        keys = list(fh.keys())
    assert keys and not any(".ref." in k for k in keys)
    pairs = _short_pairs()
    base = AutoModelForCausalLM.from_pretrained(tiny_model(MODEL))
    before = _pair_margins(base, config, pairs)
    tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model(MODEL)), str(out))
    after = _pair_margins(tuned, config, pairs)
    assert sum(after) / PAIRS > sum(before) / PAIRS + 0.05
    assert sum(a > b for a, b in zip(after, before, strict=True)) >= PAIRS - 1


@pytest.mark.slow
def test_full_dpo_with_precomputed_reference_saves_a_model_that_reloads(run_config, cli, tmp_path, tiny_model):
    from transformers import AutoModelForCausalLM

    config = _dpo_config(
        run_config, tmp_path, dpo={"method": "full", "precompute_reference": True}, optimizer={"lr": 1e-3}
    )
    result = cli("train", "run", config)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    metrics = _metrics(out)
    assert metrics[-1]["rewards/margins"] > metrics[0]["rewards/margins"]
    pairs = _short_pairs()
    before = _pair_margins(AutoModelForCausalLM.from_pretrained(tiny_model(MODEL)), config, pairs)
    after = _pair_margins(AutoModelForCausalLM.from_pretrained(out), config, pairs)
    assert sum(after) > sum(before)
    # tokens seen are the training batches' only (the reference pass before training is not counted)
    report = json.loads((out / "train_report.json").read_text(encoding="utf-8"))
    assert report["tokens_seen"] == metrics[-1]["tokens_seen"]


@pytest.mark.slow
def test_trl_prompt_chosen_rejected_layout_is_read_as_pairs(run_config, cli, tmp_path):
    records = [
        {"prompt": "Как дела?", "chosen": "Хорошо, спасибо!", "rejected": "Не скажу."},
        {
            "prompt": [{"role": "user", "content": "Назови столицу России."}],
            "chosen": [{"role": "assistant", "content": "Москва."}],
            "rejected": [{"role": "assistant", "content": "Париж."}],
        },
    ]
    data = write_jsonl(tmp_path / "trl.jsonl", records)
    result = cli("train", "run", _dpo_config(run_config, tmp_path, data=str(data), max_steps=1, batch_size=2))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "train_report.json").read_text(encoding="utf-8"))
    assert report["data"]["used"] == 2 and report["data"]["rejected"] == 0


@pytest.mark.slow
def test_bad_pairs_are_rejected_with_reasons_and_the_rest_trains(run_config, cli, tmp_path):
    good = oasst_preference_pairs(2)
    bad = [
        {"id": "no-chosen", "messages": [{"role": "user", "content": "Привет"}], "rejected": "Пока."},
        {
            "id": "ends-on-assistant",
            "messages": [{"role": "user", "content": "Привет"}, {"role": "assistant", "content": "Здравствуйте"}],
            "chosen": "a",
            "rejected": "b",
        },
        {"id": "empty-reply", "messages": [{"role": "user", "content": "Привет"}], "chosen": "  ", "rejected": "b"},
        {"id": "same", "messages": [{"role": "user", "content": "Привет"}], "chosen": "Да.", "rejected": "Да."},
    ]
    data = write_jsonl(tmp_path / "mixed.jsonl", [good[0], *bad, good[1]])
    # a broken validation record goes to the rejects file, but is not a training record
    validation = write_jsonl(tmp_path / "validation.jsonl", [good[0], {**bad[0], "id": "validation-no-chosen"}])
    config = _dpo_config(run_config, tmp_path, data=str(data), validation_data=str(validation), max_steps=1)
    result = cli("train", "run", config, "batch_size=2")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text(encoding="utf-8").split("\n") if line]
    reasons = {r["id"]: r["reason"] for r in rejects}
    assert set(reasons) == {"no-chosen", "ends-on-assistant", "empty-reply", "same", "validation-no-chosen"}
    assert "chosen" in reasons["no-chosen"]
    assert "assistant" in reasons["ends-on-assistant"]
    assert "empty" in reasons["empty-reply"]
    assert "identical" in reasons["same"]
    report = json.loads((out / "train_report.json").read_text(encoding="utf-8"))
    assert report["data"]["records"] == 6 == report["data"]["used"] + report["data"]["rejected"]
    assert "eval_loss" in report["final"] and "eval_perplexity" not in report["final"]
    assert report["tokens_seen"] == report["data"]["tokens"]  # one step on both pairs; validation not counted


def test_no_usable_pair_is_one_line_and_writes_no_finished_run(run_config, cli, tmp_path):
    bad = [
        {"id": "a", "messages": [{"role": "user", "content": "Привет"}], "chosen": "Да.", "rejected": "Да."},
        {"id": "b", "messages": [{"role": "user", "content": "Привет"}], "chosen": "Да."},
    ]
    data = write_jsonl(tmp_path / "bad.jsonl", bad)
    line = one_line_error(cli("train", "run", _dpo_config(run_config, tmp_path, data=str(data))))
    assert "no usable preference pair" in line and "2 read" in line
    assert not (tmp_path / "out" / "README.md").exists()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("dpo.loss=kto", "unpaired"),
        ("dpo.loss=[simpo,sigmoid]", "reference-free"),
        ("dpo.reference=/tmp/ref", None),  # with the simpo case below
        ("dpo.loss=nonsense", "unknown"),
        ("dpo.simpo_gamma=1.0", "simpo_gamma"),
        ("dpo.cpo_alpha=0.5", "cpo_alpha"),
        ("dpo.reference=/no/such/model", "no such directory"),
        ("dpo.beta=0", "beta"),
        ("dpo.method=qlora", "dpo.method"),
        ("packing=true", "packing"),
    ],
)
def test_config_mistakes_are_one_line(run_config, cli, tmp_path, override, expected):
    if expected is None:  # a reference model for a loss that has none
        override, expected = (override, "dpo.loss=simpo"), "uses no reference model"
    else:
        override = (override,)
    line = one_line_error(cli("train", "run", _dpo_config(run_config, tmp_path), *override))
    assert expected in line


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["simpo", "orpo"])
def test_reference_free_losses_raise_the_margin_and_save_an_adapter(run_config, cli, tmp_path, tiny_model, loss):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    config = _dpo_config(run_config, tmp_path, dpo={"loss": loss, "beta": 2.0 if loss == "simpo" else 1.0}, max_steps=8)
    result = cli("train", "run", config)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    metrics = _metrics(out)
    assert all("rewards/margins" in m and "rewards/chosen" in m for m in metrics)
    assert metrics[-1]["rewards/margins"] > metrics[0]["rewards/margins"]
    pairs = _short_pairs()
    before = _pair_margins(AutoModelForCausalLM.from_pretrained(tiny_model(MODEL)), config, pairs)
    tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model(MODEL)), str(out))
    after = _pair_margins(tuned, config, pairs)
    assert sum(after) > sum(before)


@pytest.mark.parametrize(("reference", "expected"), [("gpt2", "embedding rows"), ("mistral", "another tokenizer")])
def test_a_reference_with_another_vocabulary_is_refused(run_config, cli, tmp_path, tiny_model, reference, expected):
    line = one_line_error(
        # LLaMA-2's own vocabulary: the small one is as large as GPT-2's, which would not be refused for its size
        cli("train", "run", _dpo_config(run_config, tmp_path, "llama"), f"dpo.reference={tiny_model(reference)}")
    )
    assert expected in line


def test_loss_names_are_the_installed_trl_ones():
    from trl import DPOConfig

    from ru_llm.train.config import DPO_LOSSES

    help_text = next(f for f in dataclasses.fields(DPOConfig) if f.name == "loss_type").metadata["help"]
    assert all(f"'{loss}'" in help_text for loss in DPO_LOSSES)


def test_preference_dpo_preset(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("preset: preference-dpo\nmodel: m\ndata: d.jsonl\noutput_dir: o\n", encoding="utf-8")
    config, _ = resolve_config(path)
    assert config.strategy == "dpo" and config.dpo.method == "lora" and config.dpo.loss == "sigmoid"
    assert config.dpo.beta == 0.1 and config.optimizer.lr == 5e-6 and config.dpo.max_prompt_length == 1024


@pytest.mark.slow
def test_dpo_trains_on_a_preference_build_and_commercial_refuses_its_licence(run_config, cli, tmp_path):
    import yaml

    data = Path(__file__).resolve().parent.parent / "data" / "preference"
    recipe = {
        "sources": [
            {"builder": "preference", "source": str(data / "pairs.jsonl"), "options": {"license": "CC0-1.0"}},
            {"builder": "ultrafeedback_binarized", "source": str(data / "ultrafeedback_binarized.jsonl")},
        ],
        "validation": 0.2,
    }
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    built = cli("dataset", "build", tmp_path / "recipe.yaml", "--out", tmp_path / "built")
    assert built.exit_code == 0, built.output
    config = _dpo_config(run_config, tmp_path, data=str(tmp_path / "built"), max_steps=1, batch_size=2)
    line = one_line_error(cli("train", "run", config, "commercial=true"))
    assert "ultrafeedback" in line.lower() and "MIT" in line
    result = cli("train", "run", config)
    assert result.exit_code == 0, result.output
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "CC0-1.0" in card and "MIT" in card


def test_preview_shows_each_pair_as_chosen_and_rejected_sequences(run_config, cli, tmp_path):
    records = [
        {"id": "bad", "messages": [{"role": "user", "content": "Привет"}], "chosen": "Да.", "rejected": "Да."},
        {
            "id": "good",
            "messages": [{"role": "user", "content": "Привет"}],
            "chosen": "Здравствуйте!",
            "rejected": "Уйди.",
        },
    ]
    data = write_jsonl(tmp_path / "pairs.jsonl", records)
    result = cli("train", "preview", _dpo_config(run_config, tmp_path, data=str(data)), "--count", "1")
    assert result.exit_code == 0, result.output
    assert "good (chosen)" in result.output and "good (rejected)" in result.output
    assert "rejected bad: chosen and rejected are identical" in result.output


@pytest.mark.slow
def test_an_interrupted_dpo_run_resumes_to_the_same_losses_and_tokens(run_config, tmp_path):
    import os
    import signal

    from transformers import TrainerCallback

    from ru_llm.train.run import train

    common = {"max_steps": 4, "save_steps": 2, "batch_size": 2, "optimizer": {"lr": 1e-2, "scheduler": "constant"}}
    straight, _ = resolve_config(
        _dpo_config(run_config, tmp_path, name="a.yaml", output_dir=str(tmp_path / "a"), **common)
    )
    train(straight, progress=False)
    expected = {m["step"]: m for m in _metrics(tmp_path / "a")}

    class KillAtStep2(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            if state.global_step == 2:
                os.kill(os.getpid(), signal.SIGTERM)

    config, _ = resolve_config(
        _dpo_config(run_config, tmp_path, name="b.yaml", output_dir=str(tmp_path / "b"), **common)
    )
    first = train(config, progress=False, callbacks=[KillAtStep2()])
    assert first.interrupted == "SIGTERM" and first.steps == 2
    assert not (tmp_path / "b" / "README.md").exists()  # TRL's checkpoint card is not written
    second = train(config, progress=False)
    assert second.resumed_from is not None and second.resumed_from.endswith("checkpoint-2")
    resumed = {m["step"]: m for m in _metrics(tmp_path / "b")}
    assert sorted(resumed) == sorted(expected)
    for step, logged in expected.items():
        for key in ("loss", "rewards/margins", "tokens_seen"):
            assert resumed[step][key] == pytest.approx(logged[key], abs=1e-6), (step, key)
    assert second.tokens_seen == expected[4]["tokens_seen"]


@pytest.mark.slow
def test_orpo_nll_term_is_on_the_reply_only(run_config, cli, tmp_path, tiny_model):
    """TRL's ORPO takes its NLL over prompt and reply; ours, like the paper's SFT term, over the reply only."""
    from transformers import AutoModelForCausalLM

    from ru_llm.dataset.templates.preference import tokenize_preference
    from ru_llm.train.datasets import resolve_run_template

    pair = _short_pairs(1)
    config = _dpo_config(
        run_config, tmp_path, data=str(write_jsonl(tmp_path / "one.jsonl", pair)), max_steps=1, batch_size=1,
        dpo={"loss": "orpo"},
    )  # fmt: skip
    result = cli("train", "run", config)
    assert result.exit_code == 0, result.output
    logged = _metrics(tmp_path / "out")[0]["nll_loss"]

    resolved, _ = resolve_config(config)
    family = model_family_for(load_model_config(resolved))
    tokenizer = load_run_tokenizer(resolved, family)
    parsed = preference_from_dict(pair[0])
    tokens = tokenize_preference(
        parsed.prompt, parsed.chosen, parsed.rejected, resolve_run_template(resolved, family, tokenizer), tokenizer,
        max_length=resolved.max_length,
    )  # fmt: skip
    ids = torch.tensor([tokens.prompt_ids + tokens.chosen_ids])
    with torch.no_grad():  # step 1 logs the loss of the untouched model (LoRA B starts at zero)
        logits = AutoModelForCausalLM.from_pretrained(tiny_model(MODEL))(input_ids=ids).logits[0, :-1]
    per_token = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="none")
    reply_only = float(per_token[len(tokens.prompt_ids) - 1 :].mean())
    whole = float(per_token.mean())
    assert logged == pytest.approx(reply_only, abs=1e-4)
    assert abs(reply_only - whole) > 1e-4  # the two differ here, so the check can fail


@pytest.mark.slow
def test_checkpointing_runs_do_not_warn_about_transformers_renames(run_config, tmp_path):
    """peft and TRL call the pre-5.0 gradient-checkpointing names; the run does not pass that noise on."""
    import warnings

    from ru_llm.train.run import train

    config, _ = resolve_config(_dpo_config(run_config, tmp_path, max_steps=1, gradient_checkpointing=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        train(config, progress=False)
    renames = [str(w.message) for w in caught if "gradient_checkpointing" in str(w.message)]
    assert not renames, renames
