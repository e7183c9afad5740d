"""`ru-llm train run` with ZeRO-3 on two CPU ranks (gloo) trains the model one process would.

The ranks get torchrun's variables but are forked from one process that imported the libraries
(kit/launch.py): what is tested is what the ranks do. The real torchrun, its agents and c10d rendezvous
run in tests/train/test_multinode.py, on the same command.

The reference is one process without DeepSpeed and twice the per-device batch: the same four
conversations per step, so the two runs differ only in float summation order (sharded
reduce-scatter of the gradients, padding to different widths). AdamW's update is
``lr * m / (sqrt(v) + eps)``, so a relative gradient error ``e`` moves a weight by about
``lr * e`` per step: with lr 5e-3 and fp32 noise well below 1e-3 that stays under 1e-5 over four
steps (measured: 2.5e-6), while every tensor moves by more than 1e-2. A tolerance of 1e-4 therefore
passes rounding only; a lost shard, a stale gather, a rank's batch dropped or a gradient summed
instead of averaged moves weights by about lr (5e-3) or more.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from kit.launch import forked, forked_ranks
from kit.train_data import one_line_error
from kit.zero3_runs import STEPS

# Rank 1 alone gets SIGTERM after step 2: both ranks must stop there and save one checkpoint.
SIGNAL_ONE_RANK = """
import os, signal, sys
from transformers import TrainerCallback
from ru_llm.train.configfile import resolve_config
from ru_llm.train.run import train

class SignalRank1(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 2 and os.environ["RANK"] == "1":
            os.kill(os.getpid(), signal.SIGTERM)

config, _ = resolve_config(sys.argv[1])
result = train(config, progress=False, callbacks=[SignalRank1()])
print(f"rank {os.environ['RANK']}: stopped by {result.interrupted} at step {result.steps}", flush=True)
"""


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text(encoding="utf-8").split("\n") if line]


def _losses(out: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in _records(out) if "loss" in r}


def _weights(path: Path) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return {name: p.detach() for name, p in model.named_parameters()}


def _zero3_config(directory: Path, zero3_reference: dict[str, Any]) -> tuple[Path, Path]:
    out = directory / "zero3"
    path = directory / "zero3.yaml"
    values = {**zero3_reference["values"], "batch_size": 1, "output_dir": str(out), "full": {"deepspeed": "zero3"}}
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path, out


def _same_model_as_one_process(out: Path, reference: Path, base: Path) -> None:
    expected = _losses(reference)
    losses = _losses(out)
    assert sorted(losses) == list(range(1, STEPS + 1))  # once each: only rank 0 writes metrics.jsonl
    for step, loss in expected.items():
        assert losses[step] == pytest.approx(loss, abs=1e-5), step
    assert losses[STEPS] < losses[1] - 0.1, losses
    trained, wanted, original = _weights(out), _weights(reference), _weights(base)
    assert sorted(trained) == sorted(wanted)
    for name, tensor in trained.items():
        assert (tensor - wanted[name]).abs().max().item() < 1e-4, name
        assert (tensor - original[name]).abs().max().item() > 1e-3, f"{name} did not change"


@pytest.mark.slow
def test_two_processes_under_zero3_train_the_model_one_process_would(
    zero3_reference: dict[str, Any], tiny_model: Callable[[str], Path], tmp_path: Path
) -> None:
    config, out = _zero3_config(tmp_path, zero3_reference)
    extensions = tmp_path / "torch_extensions"  # where DeepSpeed would JIT-build ops (torch's cpp_extension)
    target = ["-m", "ru_llm.cli", "train", "run", str(config)]
    done = forked(target, cwd=tmp_path, processes=2, TORCH_EXTENSIONS_DIR=str(extensions))
    assert done.returncode == 0, done.stderr[-4000:]
    # nothing compiled: the CPU shared-memory op only serves inference all-reduce (1-2 minutes of g++ otherwise)
    assert not any(path.is_file() for path in extensions.rglob("*")), sorted(extensions.rglob("*"))
    assert done.stderr.count("done: ") == 1, done.stderr[-4000:]  # rank 0 reports; rank 1's console is quiet
    assert done.stderr.count("training data:") == 1

    # model.safetensors is whole (gathered on save), not rank 0's shard nor a ZeRO checkpoint
    assert (out / "model.safetensors").is_file()
    assert not list(out.glob("global_step*")) and not list(out.glob("checkpoint-*"))
    assert not (out / "pytorch_model.bin").exists()
    _same_model_as_one_process(out, zero3_reference["reference"], tiny_model("llama"))

    # tokens of both ranks, as the one process counts them
    records = _records(out)
    reference = _records(zero3_reference["reference"])
    assert [r["tokens_seen"] for r in records if "loss" in r] == [r["tokens_seen"] for r in reference if "loss" in r]
    assert sum("train_runtime" in r for r in records) == 1
    report = json.loads((out / "train_report.json").read_text(encoding="utf-8"))
    expected_report = json.loads((zero3_reference["reference"] / "train_report.json").read_text(encoding="utf-8"))
    assert report["tokens_seen"] == expected_report["tokens_seen"] and report["steps"] == STEPS

    resolved = yaml.safe_load((out / "config.resolved.yaml").read_text(encoding="utf-8"))
    assert resolved["full"]["deepspeed"] == "zero3" and resolved["batch_size"] == 1
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and card.count("deepspeed: zero3") == 1
    assert (out / ".ru-llm-output").is_file() and (out / "tokenizer_config.json").is_file()


@pytest.mark.slow
def test_a_signal_to_one_rank_stops_both_at_the_same_step_and_the_run_resumes(
    zero3_reference: dict[str, Any], tiny_model: Callable[[str], Path], tmp_path: Path
) -> None:
    config, out = _zero3_config(tmp_path, zero3_reference)
    script = tmp_path / "signal_one_rank.py"
    script.write_text(SIGNAL_ONE_RANK, encoding="utf-8")
    # the ranks forked from one process that imported the libraries (kit/launch.py): this test is about the
    # ranks' stop and resume; test_multinode.py runs the real torchrun
    stopped = forked_ranks(script, config, cwd=tmp_path)
    assert stopped.returncode == 0, stopped.stderr[-4000:]
    for rank in (0, 1):
        assert f"rank {rank}: stopped by SIGTERM at step 2" in stopped.stdout, stopped.stdout
    assert (out / "checkpoint-2").is_dir() and not list(out.glob("checkpoint-[13]"))
    assert not (out / "README.md").exists() and not (out / "model.safetensors").exists()

    resumed = forked_ranks("-m", "ru_llm.cli", "train", "run", config, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    report = json.loads((out / "train_report.json").read_text(encoding="utf-8"))
    assert report["resumed_from"].endswith("checkpoint-2")
    _same_model_as_one_process(out, zero3_reference["reference"], tiny_model("llama"))


def test_zero3_without_deepspeed_installed_is_one_line_before_anything_is_written(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    import ru_llm.core.deps

    real = importlib.import_module

    def without_deepspeed(name: str, package: str | None = None) -> Any:
        if name == "deepspeed" or name.startswith("deepspeed."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, package)

    monkeypatch.setattr(ru_llm.core.deps.importlib, "import_module", without_deepspeed)
    # a model directory and data that only look right: the dependency is checked before either is read
    (tmp_path / "model").mkdir()
    for name in ("config.json", "tokenizer.json"):
        (tmp_path / "model" / name).write_text("{}", encoding="utf-8")
    (tmp_path / "data.jsonl").write_text("not read\n", encoding="utf-8")
    config = tmp_path / "run.yaml"
    values = {"strategy": "full", "model": str(tmp_path / "model"), "data": str(tmp_path / "data.jsonl")}
    values.update(output_dir=str(tmp_path / "out"), full={"deepspeed": "zero3"})
    config.write_text(yaml.safe_dump(values), encoding="utf-8")
    line = one_line_error(cli("train", "run", config))
    assert "full.deepspeed: zero3 needs deepspeed, which is not installed" in line
    assert 'pip install "ru-llm-train[deepspeed]"' in line
    assert not (tmp_path / "out").exists()
