"""Bad input stops `ru-llm train run` with one line before any training, and nothing that looks finished."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kit.train_data import dolly_conversations, one_line_error, write_jsonl


def _nothing_finished(out: Path) -> None:
    assert not (out / "README.md").exists()
    assert not any((out / name).exists() for name in ("adapter_model.safetensors", "model.safetensors"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lora": {"rr": 2}}, "unknown key 'lora.rr'; did you mean 'lora.r'?"),
        ({"max_steps": "many"}, "'max_steps' must be an integer, got 'many'"),
        ({"strategy": "qlora"}, "unknown trainer strategy 'qlora'"),
        ({"preset": "paper-loraa"}, "unknown preset 'paper-loraa'; did you mean 'paper-lora'?"),
        ({"device": "cuda"}, "device: 'cuda' but this machine has no CUDA GPU"),
        ({"precision": "fp16"}, "precision: fp16 needs a CUDA GPU"),
        ({"max_length": 100000}, "max_length 100000 is above the model's context"),
        (
            {"template": "chatml"},
            "template 'chatml' writes '<|im_end|>', which this tokenizer does not know as one token",
        ),
        (
            {"lora": {"target_modules": ["nope_proj"]}},
            "lora.target_modules: no module of this llama model is named 'nope_proj'",
        ),
    ],
)
def test_config_mistakes_are_one_line_errors(run_config, cli, tmp_path: Path, values: dict, message: str) -> None:
    config = run_config("llama-small", **values)
    line = one_line_error(cli("train", "run", config))
    assert message in line
    assert str(config) in line or "run.yaml" not in message
    _nothing_finished(tmp_path / "out")


def test_the_config_file_and_overrides_are_checked(run_config, cli, tmp_path: Path) -> None:
    config = run_config("llama-small")
    assert "no such config file" in one_line_error(cli("train", "run", tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategy: [lora\n", encoding="utf-8")
    assert "bad.yaml:2: not valid YAML" in one_line_error(cli("train", "run", bad))
    assert "expected KEY=VALUE" in one_line_error(cli("train", "run", config, "lora.r"))
    assert "'lora.r' is a value, not a section" in one_line_error(cli("train", "run", config, "lora.r.x=1"))


def test_missing_malformed_and_empty_data(run_config, cli, tmp_path: Path) -> None:
    missing = run_config("llama-small", data=str(tmp_path / "nope.jsonl"))
    assert "nope.jsonl" in one_line_error(cli("train", "run", missing))

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "messages": [}\n{"no": "messages"}\n', encoding="utf-8")
    line = one_line_error(cli("train", "run", run_config("llama-small", data=str(broken))))
    assert "no usable training conversation" in line and "2 read" in line

    only_users = write_jsonl(tmp_path / "users.jsonl", [{"id": "u", "messages": [{"role": "user", "content": "hi"}]}])
    line = one_line_error(cli("train", "run", run_config("llama-small", data=str(only_users))))
    assert "no usable training conversation" in line and "does not end with an assistant reply" in line
    rejects = tmp_path / "out" / "rejects.jsonl"
    assert not rejects.exists()  # nothing at all is written when the run cannot start


def test_a_model_directory_without_a_tokenizer(run_config, cli, tiny_model, tmp_path: Path) -> None:
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model("llama-small"), model)
    for name in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json"):
        (model / name).unlink(missing_ok=True)
    line = one_line_error(cli("train", "run", run_config("llama-small", model=str(model))))
    assert "model: " in line and "no tokenizer files (tokenizer.json" in line  # found before any model library loads
    assert "model: " in line and "no config.json" in one_line_error(
        cli("train", "run", run_config("llama-small", model=str(tmp_path)))
    )


def test_too_long_conversations_are_rejects_with_reasons(run_config, cli, tmp_path: Path) -> None:
    long = {
        "id": "long",
        "messages": [{"role": "user", "content": "слово " * 400}, {"role": "assistant", "content": "ok"}],
    }
    data = write_jsonl(tmp_path / "d.jsonl", [*dolly_conversations(), long])
    result = cli("train", "run", run_config("llama-small", data=str(data), max_steps=1))
    assert result.exit_code == 0, result.output
    rejects = [json.loads(x) for x in (tmp_path / "out" / "rejects.jsonl").read_text().split("\n") if x]
    assert [r["id"] for r in rejects] == ["long"]
    assert "too long: the first assistant reply does not fit in max_length 256" in rejects[0]["reason"]
    report = json.loads((tmp_path / "out" / "train_report.json").read_text())
    assert report["data"]["records"] == 6 and report["data"]["used"] == 5 and report["data"]["rejected"] == 1
    warning = next(line for line in result.output.splitlines() if line.startswith("warning:"))  # not only a table row
    assert "1 of 6 conversations (17%) were not used; most often too long (1): raise max_length" in warning


def test_an_existing_output_directory_is_resumed_refused_or_replaced(
    run_config, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    config = run_config("llama-small", max_steps=1)
    assert "already exists and is not empty" in one_line_error(cli("train", "run", config))
    assert "not an output directory of ru-llm" in one_line_error(cli("train", "run", config, "--overwrite"))
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()

    assert cli("train", "run", config).exit_code == 0
    assert "has finished already" in one_line_error(cli("train", "run", config))
    assert "differs in max_steps" in one_line_error(cli("train", "run", config, "max_steps=2"))
    with monkeypatch.context() as env:  # another rank of a distributed run stops too, not waiting for rank 0
        env.setenv("RANK", "1")
        assert "has finished already" in one_line_error(cli("train", "run", config))
        assert "differs in max_steps" in one_line_error(cli("train", "run", config, "max_steps=2"))
    again = cli("train", "run", config, "max_steps=2", "--overwrite")
    assert again.exit_code == 0, again.output
    resolved = yaml.safe_load((out / "config.resolved.yaml").read_text())
    assert resolved["max_steps"] == 2


def test_the_output_directory_may_not_hold_the_data(run_config, cli, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", dolly_conversations())
    config = run_config("llama-small", data=str(data), output_dir=str(tmp_path))
    assert "holds an input" in one_line_error(cli("train", "run", config, "--overwrite"))
    assert data.is_file()


def test_commercial_refuses_sources_that_are_not_cleared(run_config, cli, tmp_path: Path) -> None:
    convs = dolly_conversations()
    convs[0] = {**convs[0], "source": "alpaca", "license": "CC-BY-NC-4.0"}
    data = write_jsonl(tmp_path / "d.jsonl", convs)
    line = one_line_error(cli("train", "run", run_config("llama-small", data=str(data)), "--commercial"))
    assert "not cleared for commercial use: alpaca (CC-BY-NC-4.0; all records without a commercial stamp)" in line
    assert not (tmp_path / "out").exists()
