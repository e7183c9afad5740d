"""What survives a crash: checkpoints and final outputs are published whole, and a rerun after a kill at
any phase finishes with the weights an uninterrupted run gives."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from kit.crash import max_difference, run_killed, weights

from ru_llm.train.checkpoints import (
    COMPLETE,
    FINISHED,
    checkpoint_problem,
    is_finished,
    publish_checkpoint,
    publish_final,
    rotate,
    scan_checkpoints,
)
from ru_llm.train.configfile import resolve_config
from ru_llm.train.run import train

# -- the publishing rules, on plain folders ---------------------------------------------------------


def _fake_checkpoint(path: Path, step: int, *, state: bool = True) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_model.safetensors").write_bytes(b"x" * 100)
    if state:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}), encoding="utf-8")
    return path


def test_a_published_checkpoint_is_complete_until_a_file_is_lost_or_cut(tmp_path: Path) -> None:
    staged = _fake_checkpoint(tmp_path / ".staging" / "checkpoint-4", 4)
    published = publish_checkpoint(staged, tmp_path, step=4)
    assert published == tmp_path / "checkpoint-4" and not staged.exists()
    assert checkpoint_problem(published) is None
    manifest = json.loads((published / COMPLETE).read_text())
    assert manifest["step"] == 4 and manifest["files"]["adapter_model.safetensors"] == 100

    (published / "adapter_model.safetensors").write_bytes(b"x" * 10)
    assert checkpoint_problem(published) == "adapter_model.safetensors has 10 bytes, not the 100 written"
    (published / "adapter_model.safetensors").unlink()
    assert checkpoint_problem(published) == "adapter_model.safetensors is missing"
    shutil.copytree(tmp_path / "checkpoint-4", tmp_path / "checkpoint-9")
    assert checkpoint_problem(tmp_path / "checkpoint-9") == "it holds step 4, not 9"


def test_incomplete_checkpoints_are_told_apart_from_complete_ones(tmp_path: Path) -> None:
    publish_checkpoint(_fake_checkpoint(tmp_path / ".staging" / "checkpoint-3", 3), tmp_path, step=3)
    _fake_checkpoint(tmp_path / "checkpoint-6", 6)  # written in place before manifests: complete
    _fake_checkpoint(tmp_path / "checkpoint-9", 9, state=False)  # killed before its trainer state
    (tmp_path / "checkpoint-12").mkdir()  # killed right after mkdir
    (tmp_path / "checkpoint-15").mkdir()
    (tmp_path / "checkpoint-15" / "trainer_state.json").write_text('{"global_st', encoding="utf-8")  # cut
    complete, skipped = scan_checkpoints(tmp_path)
    assert [p.name for p in complete] == ["checkpoint-3", "checkpoint-6"]
    assert [(s.path.name, s.reason) for s in skipped] == [
        ("checkpoint-9", "no trainer_state.json (the save was cut short)"),
        ("checkpoint-12", "empty"),
        ("checkpoint-15", "its trainer_state.json is unreadable (the save was cut short)"),
    ]


def test_rotation_keeps_the_newest_complete_checkpoints(tmp_path: Path) -> None:
    for step in (2, 4, 6):
        publish_checkpoint(_fake_checkpoint(tmp_path / ".staging" / f"checkpoint-{step}", step), tmp_path, step=step)
    assert [p.name for p in rotate(tmp_path, 2)] == ["checkpoint-2"]
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-6"]


def test_the_final_output_is_finished_only_when_every_file_is_published(tmp_path: Path) -> None:
    staged = tmp_path / ".final"
    staged.mkdir()
    for name in ("README.md", "adapter_model.safetensors", "train_report.json", "tokenizer.json"):
        (staged / name).write_text(name, encoding="utf-8")
    (tmp_path / "README.md").write_text("placeholder from a killed save", encoding="utf-8")
    assert not is_finished(tmp_path)  # a card alone never marks a run finished
    names = publish_final(staged, tmp_path, steps=3)
    assert names[-1] == "README.md"  # the card comes last
    assert json.loads((tmp_path / FINISHED).read_text())["files"] == names
    assert (tmp_path / "README.md").read_text() == "README.md" and not staged.exists()
    assert is_finished(tmp_path)


# -- runs on the tiny models ------------------------------------------------------------------------

COMMON = {"max_steps": 6, "save_steps": 3, "batch_size": 1, "lora": {"dropout": 0.1}}


@pytest.fixture(scope="module")
def reference_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("durable-reference")


@pytest.fixture
def reference(run_config, reference_root: Path) -> Path:
    """An uninterrupted LoRA run of the config the tests interrupt, trained by the first test that asks and
    read by the others (the same config, data and seed: the weights are the same)."""
    out = reference_root / "a"
    if not is_finished(out):
        config, _ = resolve_config(run_config("llama-small", name="a.yaml", output_dir=str(out), **COMMON))
        train(config, progress=False)
    return out


@pytest.mark.slow
def test_incomplete_checkpoints_beside_complete_ones_are_skipped_and_the_run_finishes_the_same(
    run_config, reference: Path, tmp_path: Path, capsys
) -> None:
    from rich.console import Console
    from transformers import TrainerCallback

    class StopAtStep3(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            if state.global_step == 3:
                control.should_training_stop = True

    out = tmp_path / "b"
    config, _ = resolve_config(run_config("llama-small", name="b.yaml", output_dir=str(out), **COMMON))
    train(config, progress=False, callbacks=[StopAtStep3()])
    for name in ("README.md", FINISHED):  # as if the process had died right after checkpoint-3
        (out / name).unlink()
    for leftover in [p for p in out.iterdir() if p.suffix in (".safetensors", ".json") and p.name != FINISHED]:
        leftover.unlink()
    partial = out / "checkpoint-5"  # a save killed after the weights, before the trainer state
    shutil.copytree(out / "checkpoint-3", partial)
    (partial / "trainer_state.json").unlink()
    (partial / COMPLETE).unlink()
    (out / "checkpoint-4").mkdir()  # killed right after mkdir

    console = Console(stderr=True, width=200)
    result = train(config, progress=False, console=console)
    said = capsys.readouterr().err
    assert "skipping the incomplete checkpoint checkpoint-4 (empty)" in said
    assert "skipping the incomplete checkpoint checkpoint-5 (no trainer_state.json" in said
    assert result.resumed_from is not None and result.resumed_from.endswith("checkpoint-3")
    assert max_difference(weights(out), weights(reference)) == 0.0
    assert is_finished(out) and not (out / ".final").exists() and not (out / ".staging").exists()


@pytest.mark.slow
def test_a_final_save_cut_short_is_finished_by_the_rerun(
    run_config, reference: Path, tmp_path: Path, monkeypatch
) -> None:
    import ru_llm.train.trainer as trainer_module

    out = tmp_path / "b"
    config, _ = resolve_config(run_config("llama-small", name="b.yaml", output_dir=str(out), **COMMON))

    def cut(*args: object, **kwargs: object) -> None:  # the adapter (and peft's placeholder card) written
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(trainer_module, "save_tokenizer", cut)
        with pytest.raises(KeyboardInterrupt):
            train(config, progress=False)
    assert not is_finished(out) and (out / ".final" / "adapter_model.safetensors").is_file()
    assert not (out / "README.md").exists()

    result = train(config, progress=False)  # not "finished already": resumes at the last step, publishes
    assert result.resumed_from is not None and result.resumed_from.endswith("checkpoint-6")
    assert is_finished(out)
    for name in ("adapter_model.safetensors", "tokenizer_config.json", "train_report.json", "loss.png", "README.md"):
        assert (out / name).is_file(), name
    assert "trained with ru-llm" in (out / "README.md").read_text(encoding="utf-8")
    assert max_difference(weights(out), weights(reference)) == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["checkpoint-save", "final-publish"])
def test_sigkill_at_a_phase_then_a_rerun_gives_the_uninterrupted_adapter(
    phase: str, run_config, reference: Path, cli, tmp_path: Path
) -> None:
    out = tmp_path / "b"
    config = run_config("llama-small", name="b.yaml", output_dir=str(out), **COMMON)
    run_killed(phase, "train", "run", config, cwd=tmp_path)
    assert not is_finished(out)
    if phase == "checkpoint-save":  # the kill hit the first save: nothing named checkpoint-* yet
        assert not list(out.glob("checkpoint-*")) and list((out / ".staging").glob("checkpoint-3/*"))
    again = cli("train", "run", config)
    assert again.exit_code == 0, again.output
    assert is_finished(out)
    assert max_difference(weights(out), weights(reference)) == 0.0
    assert os.listdir(out / "checkpoint-6")
