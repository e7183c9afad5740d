"""bench/gpu_suite.sh: the GPU arithmetic (peaks, FLOPs, MFU inputs), the report's line shapes, and the
``--smoke`` run on the CPU printing every key (values where a CPU can measure them, reasons elsewhere).

The smoke run checks the script in two halves that meet: ``gpu_suite.sh --smoke`` run with ``$PYTHON`` a
recording stand-in (the interpreter it picks gets ``-m gpu_suite --smoke``, bench/ and tests/ on
PYTHONPATH, the repository as its directory, ``$OUT``), and that module's ``--smoke`` run forked from this
test process's launch server (tests/kit/launch.py, which imported torch, transformers and DeepSpeed once for
the worker's tests) with ``$OUT`` set: a fresh interpreter imported them again (~8 CPU-seconds)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from kit.launch import forked

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from gpu_suite.report import FIGURES, PEAK_ENV, TARGETS, Report, peak_bf16_flops, train_flops_per_token  # noqa: E402

# measurable on a CPU in the smoke run (ct2: where ctranslate2 is installed)
CPU_FIGURES = (
    "full_0.5b_tokens_per_s", "full_1.5b_tokens_per_s", "lora_tokens_per_s", "plain_hf_lora_tokens_per_s",
    "lora_vs_plain_hf_tokens_per_s_ratio", "padded_tokens_per_s", "packed_tokens_per_s",
    "packed_vs_padded_tokens_per_s_ratio", "dpo_step_seconds_reference_model", "dpo_step_seconds_precomputed",
    "dpo_precomputed_vs_reference_step_time_ratio", "mmlu_5shot_questions_per_s", "translate_hf_tokens_per_s",
)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "tflops"),
    [
        ("NVIDIA H100 80GB HBM3", 989.4),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA H100 NVL", 835.0),
        ("NVIDIA H200", 989.4),
        ("NVIDIA GH200 480GB", 989.4),
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("NVIDIA A100-PCIE-40GB", 312.0),
    ],
)
def test_peak_bf16_from_the_device_name(name: str, tflops: float, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PEAK_ENV, raising=False)
    peak, source = peak_bf16_flops(name)
    assert peak == pytest.approx(tflops * 1e12)
    assert str(tflops) in source


def test_unknown_gpu_says_how_to_set_the_peak_and_the_override_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PEAK_ENV, raising=False)
    peak, reason = peak_bf16_flops("NVIDIA GeForce RTX 4090")
    assert peak is None and PEAK_ENV in reason and "RTX 4090" in reason
    monkeypatch.setenv(PEAK_ENV, "165.2")
    assert peak_bf16_flops("NVIDIA GeForce RTX 4090")[0] == pytest.approx(165.2e12)
    assert peak_bf16_flops("NVIDIA H100 80GB HBM3")[0] == pytest.approx(165.2e12)


def test_flops_per_token_is_6n_plus_palm_attention_term() -> None:
    # 0.5B body of the suite: N = all but the input embedding; 12 * layers * width * sequence
    n = 24 * (4 * 1024**2 + 3 * 1024 * 4096) + 32000 * 1024
    assert train_flops_per_token(n, 24, 1024, 2048) == 6 * n + 12 * 24 * 1024 * 2048


def test_report_lines_skips_ratios_and_summary(tmp_path: Path) -> None:
    import io

    stream = io.StringIO()
    report = Report(stream, tmp_path / "out" / "gpu_suite.jsonl")
    report.emit("lora_tokens_per_s", 300.0, batch_size=8)
    report.emit("plain_hf_lora_tokens_per_s", 150.0)
    report.skip("lora_peak_memory_gb", "needs CUDA")
    report.ratio("lora_vs_plain_hf_tokens_per_s_ratio", "lora_tokens_per_s", "plain_hf_lora_tokens_per_s")
    report.ratio("lora_vs_plain_hf_peak_memory_ratio", "lora_peak_memory_gb", "plain_hf_lora_peak_memory_gb")
    report.skip("lora_tokens_per_s", "ignored: already printed")
    summary = report.summary(smoke=True)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0] == {"figure": "lora_tokens_per_s", "value": 300.0, "unit": "tokens/s", "batch_size": 8}
    assert lines[2] == {"figure": "lora_peak_memory_gb", "value": None, "unit": "GiB", "skipped": "needs CUDA"}
    assert lines[3]["value"] == 2.0 and lines[3]["unit"] == "ratio"
    assert lines[4]["value"] is None and "lora_peak_memory_gb was not measured: needs CUDA" in lines[4]["skipped"]
    assert len(lines) == 6 and lines[-1] == summary
    assert summary["meets_targets"]["lora_vs_plain_hf_tokens_per_s_ratio"] is True
    assert summary["meets_targets"]["lora_vs_plain_hf_peak_memory_ratio"] is None
    assert (tmp_path / "out" / "gpu_suite.jsonl").read_text(encoding="utf-8") == stream.getvalue()
    with pytest.raises(KeyError):
        report.emit("no_such_figure", 1.0)


def test_every_figure_has_a_group_and_every_target_a_figure() -> None:
    from gpu_suite.run import GROUPS

    printed = [f for figures, _, ratios in GROUPS for f in (*figures, *(r[0] for r in ratios))]
    assert sorted(printed) == sorted(FIGURES)
    assert set(TARGETS) <= set(FIGURES)
    assert all(name.endswith("_ratio") == (unit == "ratio") for name, unit in FIGURES.items())


@pytest.mark.slow
def test_smoke_run_prints_every_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record, stand_in = tmp_path / "python-call", tmp_path / "python"
    stand_in.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$PWD" "$PYTHONPATH" "$OUT" "$@" > "$RECORD"\n')
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PYTHON": str(stand_in), "OUT": str(tmp_path / "out"), "RECORD": str(record)}
    script = subprocess.run(
        ["bash", str(REPO / "bench" / "gpu_suite.sh"), "--smoke"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )  # fmt: skip
    assert script.returncode == 0, script.stderr
    directory, pythonpath, out, *args = record.read_text(encoding="utf-8").splitlines()
    assert args == ["-m", "gpu_suite", "--smoke"] and directory == str(REPO) and out == str(tmp_path / "out")
    assert pythonpath.split(os.pathsep)[:2] == [str(REPO / "bench"), str(REPO / "tests")]

    monkeypatch.delenv(PEAK_ENV, raising=False)
    # `python bench/gpu_suite --smoke`: bench/ first on the path and the package's __main__, as `-m` runs it
    proc = forked([str(REPO / "bench" / "gpu_suite"), "--smoke"], cwd=REPO, timeout=900, OUT=str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_smoke_lines(proc.stdout)
    copied = (tmp_path / "out" / "gpu_suite.jsonl").read_text(encoding="utf-8")
    assert copied == proc.stdout


def check_smoke_lines(stdout: str) -> None:
    """Every figure once, with its unit; a number where the CPU measures it, else null and a reason."""
    import importlib.util

    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    figures, summary = lines[:-1], lines[-1]
    assert sorted(line["figure"] for line in figures) == sorted(FIGURES)  # each key once, nothing else
    for line in figures:
        assert line["unit"] == FIGURES[line["figure"]]
        if line["value"] is None:
            assert isinstance(line["skipped"], str) and line["skipped"], line
        else:
            assert isinstance(line["value"], (int, float)) and line["value"] > 0, line
            assert "skipped" not in line
    values = {line["figure"]: line["value"] for line in figures}
    for name in CPU_FIGURES:
        assert values[name] is not None, name
    ct2 = importlib.util.find_spec("ctranslate2") is not None
    assert (values["translate_ct2_tokens_per_s"] is not None) == ct2
    reasons = {line["figure"]: line.get("skipped", "") for line in figures}
    assert "needs CUDA" in reasons["full_0.5b_mfu"] and "CUDA" in reasons["lora_peak_memory_gb"]
    assert "needs CUDA" in reasons["qlora_tokens_per_s"]
    # Liger: the run config's own one-line check says why (not installed, or no CUDA device)
    assert "liger_kernel: true" in reasons["full_0.5b_liger_tokens_per_s"]
    assert "liger_kernel: false" in reasons["lora_liger_tokens_per_s"]
    assert summary["benchmark"] == "gpu_suite" and summary["smoke"] is True
    assert summary["figures"] == values
    assert set(summary["skipped"]) == {name for name, value in values.items() if value is None}
