"""`ru-llm train presets` and `ru-llm train preview`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ru_llm.train.config import RunConfig
from ru_llm.train.configfile import presets, resolve_config


@pytest.mark.parametrize("name", sorted(presets()))
def test_every_preset_resolves_to_a_valid_config(name: str, tmp_path: Path) -> None:
    config, tree = resolve_config(None, [f"preset={name}", "model=m", f"output_dir={tmp_path}", "data=d.jsonl"])
    assert isinstance(config, RunConfig) and tree["preset"] == name


def test_the_paper_presets_hold_the_papers_values() -> None:
    lora, _ = resolve_config(None, ["preset=paper-lora", "model=m", "output_dir=o"])
    assert (lora.lora.r, lora.lora.alpha, lora.lora.dropout, lora.lora.quantization) == (16, 16, 0.05, "int8")
    assert (lora.optimizer.lr, tuple(lora.optimizer.betas), lora.template, lora.train_on) == (
        3e-4, (0.9, 0.95), "saiga", "assistant"
    )  # fmt: skip
    full, _ = resolve_config(None, ["preset=paper-full-xglm", "output_dir=o"])
    assert full.model == "facebook/xglm-4.5B" and full.full.deepspeed == "zero3" and full.train_on == "all"
    assert (full.optimizer.lr, full.grad_accum, full.batch_size, full.max_length) == (3e-6, 16, 1, 2048)
    assert full.optimizer.weight_decay == 0.0 and full.gradient_checkpointing and full.template == "human_assistant"


def test_a_user_config_extends_a_preset_and_overrides_win(tmp_path: Path) -> None:
    path = tmp_path / "my.yaml"
    path.write_text("preset: paper-lora\nmodel: m\noutput_dir: o\nlora: {r: 8}\n", encoding="utf-8")
    config, tree = resolve_config(path, ["lora.r=32", "optimizer.lr=1e-4"])
    assert config.lora.r == 32 and config.lora.alpha == 16 and config.optimizer.lr == 1e-4
    assert tree["lora"]["quantization"] == "int8"


def test_presets_command_lists_presets_and_strategies(cli) -> None:
    result = cli("train", "presets")
    assert result.exit_code == 0
    for name in ("paper-lora", "paper-full-xglm", "cpt-replay", "full", "lora", "cpt"):
        assert name in result.stdout
    shown = cli("train", "presets", "paper-lora")
    assert "quantization: int8" in shown.stdout
    rows = json.loads(cli("train", "presets", "--json").stdout)
    assert {r["name"] for r in rows} >= {"paper-lora", "paper-full-xglm", "cpt-replay"}


def test_preview_shows_tokens_with_their_labels(run_config, cli) -> None:
    result = cli("train", "preview", run_config("llama-small", template="saiga"), "-n", "2")
    assert result.exit_code == 0, result.output
    assert "dolly-0:" in result.stdout and "dolly-1:" in result.stdout and "dolly-2:" not in result.stdout
    assert "trained" in result.stdout and "-100" in result.stdout


def test_every_config_key_is_documented() -> None:
    import dataclasses
    import typing

    docs = (Path(__file__).resolve().parents[2] / "docs" / "training.md").read_text(encoding="utf-8")

    def keys(cls: type, prefix: str = "") -> list[str]:
        found = []
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(hints[f.name]):
                found += keys(hints[f.name], prefix + f.name + ".")
            else:
                found.append(prefix + f.name)
        return found

    missing = [k for k in keys(RunConfig) if f"`{k}`" not in docs]
    assert missing == []
