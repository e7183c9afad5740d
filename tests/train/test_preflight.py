"""Every config value is checked before the output directory is touched; a run stopped before its first
checkpoint never blocks the corrected config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kit.train_data import one_line_error

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"optimizer": {"scheduler": "bogus"}}, "the trainer refused the settings: bogus is not a valid SchedulerType"),
        (
            {"lora": {"target_modules": ["nonexistent_proj"]}},
            "lora.target_modules: no module of this llama model is named 'nonexistent_proj'",
        ),
        ({"lora": {"layers": [7]}}, "lora.layers [7]: the model has layers 0..1"),
        ({"save_total_limit": -3}, "'save_total_limit' must be at least 1, got -3"),
        ({"optimizer": {"max_grad_norm": -1}}, "'optimizer.max_grad_norm' must be 0 or more, got -1"),
        ({"optimizer": {"weight_decay": -0.1}}, "'optimizer.weight_decay' must be 0 or more"),
        ({"optimizer": {"warmup_steps": -5}}, "'optimizer.warmup_steps' must be 0 or more"),
    ],
)
def test_bad_settings_stop_the_run_before_anything_is_written(
    run_config, cli, tmp_path: Path, values: dict, message: str
) -> None:
    line = one_line_error(cli("train", "run", run_config("llama-small", **values)))
    assert message in line
    assert not (tmp_path / "out").exists()


def test_a_corrected_config_runs_where_a_failed_attempt_left_files(run_config, cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # an attempt that wrote its config and died before a checkpoint (e.g. killed while loading the model)
    out.mkdir()
    (out / ".ru-llm-output").write_text("{}", encoding="utf-8")
    (out / "config.resolved.yaml").write_text(yaml.safe_dump({"strategy": "lora", "max_steps": 99}), "utf-8")
    (out / "checkpoint-2").mkdir()  # a save cut short: nothing to resume from
    done = cli("train", "run", run_config("llama-small", max_steps=1))
    assert done.exit_code == 0, done.output
    assert "stopped before its first checkpoint; starting again with this config" in done.output
    assert yaml.safe_load((out / "config.resolved.yaml").read_text())["max_steps"] == 1
    assert not (out / "checkpoint-2").exists()


def test_a_config_file_that_is_not_utf8_is_one_line(run_config, cli, tmp_path: Path) -> None:
    config = run_config("llama-small")
    text = config.read_text(encoding="utf-8") + "# комментарий\n"
    config.write_bytes(text.encode("cp1251"))
    line = one_line_error(cli("train", "run", config))
    assert f"{config}:" in line and "not UTF-8 text" in line


def test_overwrite_through_a_symlinked_output_directory(run_config, cli, tmp_path: Path) -> None:
    real = tmp_path / "disk" / "run"
    real.mkdir(parents=True)
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    config = run_config("llama-small", max_steps=1)
    assert cli("train", "run", config).exit_code == 0
    again = cli("train", "run", config, "max_steps=2", "--overwrite")
    assert again.exit_code == 0, again.output
    assert link.is_symlink() and (real / "adapter_model.safetensors").is_file()
    assert yaml.safe_load((real / "config.resolved.yaml").read_text())["max_steps"] == 2


def test_a_second_run_into_the_same_output_directory_is_refused(run_config, cli, tmp_path: Path) -> None:
    import os
    import socket

    out = tmp_path / "out"
    out.mkdir()
    (out / ".ru-llm-running").write_text(f"{socket.gethostname()} {os.getpid()}\n", encoding="utf-8")  # alive
    line = one_line_error(cli("train", "run", run_config("llama-small", max_steps=1)))
    assert "another run is writing into it" in line
    (out / ".ru-llm-running").unlink()
    done = cli("train", "run", run_config("llama-small", max_steps=1))
    assert done.exit_code == 0, done.output
    assert not (out / ".ru-llm-running").exists()
