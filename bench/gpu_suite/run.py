"""The suite: settings per mode, the models it builds once, and the groups of figures it runs in order.

A group that fails (a missing library, a GPU out of memory, a bug) does not end the suite: each of its
figures not yet printed is printed with a null value and the reason, and the next group runs. A group
that would start after ``--budget-seconds`` is skipped the same way, so the whole suite ends in time.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpu_suite import inference, training
from gpu_suite.models import build_llama, conversations_file, preference_file
from gpu_suite.report import FIGURES, Report, peak_bf16_flops


@dataclass
class Suite:
    smoke: bool
    device: str  # "cuda" or "cpu"
    work: Path
    report: Report
    attn: str
    max_length: int
    warmup: int
    steps: int
    batch_size: dict[str, int]
    mmlu_limit: int | None
    paragraphs: int
    m2m100_size: str
    conversations: Path = field(init=False)
    preferences: Path = field(init=False)
    device_name: str | None = None
    _llamas: dict[str, tuple[Path, dict[str, Any]]] = field(default_factory=dict)

    @property
    def cuda(self) -> bool:
        return self.device == "cuda"

    def llama(self, size: str) -> tuple[Path, dict[str, Any]]:
        """The random LLaMA of ``size`` (built on first use; --smoke: the tiny one for every size)."""
        built = "tiny" if self.smoke else size
        if built not in self._llamas:
            out = self.work / f"llama-{built}"
            # a context of at least 1024 tokens: MMLU's 5-shot prompts must fit
            shape = build_llama(built, out, context=max(self.max_length, 1024), device=self.device)
            self._llamas[built] = (out, shape)
        return self._llamas[built]

    def context(self, shape: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """What every training figure states beside its value."""
        return {
            "model_parameters": shape["parameters"], "hidden_size": shape["hidden_size"], "layers": shape["layers"],
            "max_length": self.max_length, "attn_implementation": self.attn, "device": self.device, **extra,
        }  # fmt: skip


def settings(smoke: bool) -> dict[str, Any]:
    """Sizes per mode: the full suite fits in ~6 minutes of an H100/H200, the smoke run in seconds on a CPU."""
    if smoke:
        return {
            "max_length": 128, "warmup": 1, "steps": 1, "mmlu_limit": 1, "paragraphs": 4, "m2m100_size": "tiny",
            "batch_size": {"full_0.5b": 2, "full_1.5b": 2, "lora": 2, "dpo": 1}, "conversations": 16, "pairs": 2,
        }  # fmt: skip
    return {
        "max_length": 2048, "warmup": 3, "steps": 10, "mmlu_limit": None, "paragraphs": 1000,
        "m2m100_size": "wmt21-scaled", "batch_size": {"full_0.5b": 8, "full_1.5b": 4, "lora": 8, "dpo": 4},
        "conversations": 1200, "pairs": 64,
    }  # fmt: skip


# (figures the group prints, what measures them, ratios printed after it: (figure, numerator, denominator))
Group = tuple[tuple[str, ...], Callable[[Suite], None], tuple[tuple[str, str, str], ...]]
GROUPS: tuple[Group, ...] = (
    (("full_0.5b_tokens_per_s", "full_0.5b_mfu", "full_0.5b_peak_memory_gb"),
     lambda s: training.full_fine_tune(s, "0.5b"), ()),
    (("full_1.5b_tokens_per_s", "full_1.5b_mfu", "full_1.5b_peak_memory_gb"),
     lambda s: training.full_fine_tune(s, "1.5b"), ()),
    (("lora_tokens_per_s", "lora_peak_memory_gb", "packed_tokens_per_s"), training.lora_runs, ()),
    (("plain_hf_lora_tokens_per_s", "plain_hf_lora_peak_memory_gb"), training.plain_hf_lora,
     (("lora_vs_plain_hf_tokens_per_s_ratio", "lora_tokens_per_s", "plain_hf_lora_tokens_per_s"),
      ("lora_vs_plain_hf_peak_memory_ratio", "lora_peak_memory_gb", "plain_hf_lora_peak_memory_gb"))),
    (("padded_tokens_per_s",), training.padded_lora,
     (("packed_vs_padded_tokens_per_s_ratio", "packed_tokens_per_s", "padded_tokens_per_s"),)),
    (("qlora_tokens_per_s", "qlora_peak_memory_gb"), training.qlora,
     (("qlora_vs_plain_hf_tokens_per_s_ratio", "qlora_tokens_per_s", "plain_hf_lora_tokens_per_s"),
      ("qlora_vs_plain_hf_peak_memory_ratio", "qlora_peak_memory_gb", "plain_hf_lora_peak_memory_gb"))),
    (("dpo_step_seconds_reference_model", "dpo_peak_memory_gb_reference_model"),
     lambda s: training.dpo(s, precompute=False), ()),
    (("dpo_step_seconds_precomputed", "dpo_peak_memory_gb_precomputed"),
     lambda s: training.dpo(s, precompute=True),
     (("dpo_precomputed_vs_reference_step_time_ratio", "dpo_step_seconds_precomputed",
       "dpo_step_seconds_reference_model"),
      ("dpo_precomputed_vs_reference_peak_memory_ratio", "dpo_peak_memory_gb_precomputed",
       "dpo_peak_memory_gb_reference_model"))),
    (("mmlu_5shot_questions_per_s",), inference.mmlu, ()),
    (("translate_hf_tokens_per_s", "translate_ct2_tokens_per_s"), inference.translation,
     (("translate_hf_vs_ct2_tokens_per_s_ratio", "translate_hf_tokens_per_s", "translate_ct2_tokens_per_s"),)),
    # Liger last: it patches transformers' LLaMA modules for the rest of the process
    (("full_0.5b_liger_tokens_per_s", "full_0.5b_liger_peak_memory_gb"),
     lambda s: training.full_fine_tune(s, "0.5b", liger=True),
     (("full_0.5b_liger_vs_plain_tokens_per_s_ratio", "full_0.5b_liger_tokens_per_s", "full_0.5b_tokens_per_s"),
      ("full_0.5b_liger_vs_plain_peak_memory_ratio", "full_0.5b_liger_peak_memory_gb", "full_0.5b_peak_memory_gb"))),
    (("lora_liger_tokens_per_s", "lora_liger_peak_memory_gb"), lambda s: training.lora_runs(s, liger=True),
     (("lora_liger_vs_plain_hf_tokens_per_s_ratio", "lora_liger_tokens_per_s", "plain_hf_lora_tokens_per_s"),
      ("lora_liger_vs_plain_hf_peak_memory_ratio", "lora_liger_peak_memory_gb", "plain_hf_lora_peak_memory_gb"))),
)  # fmt: skip


def failure_reason(error: BaseException) -> str:
    """One line: a user error with its hint (a missing extra, no GPU), else the exception's first line."""
    from ru_llm.core.errors import RuLLMError, first_line

    if isinstance(error, RuLLMError):
        hint = getattr(error, "hint", None)
        return f"{first_line(error)}" + (f" ({hint})" if hint else "")
    return f"failed: {type(error).__name__}: {first_line(error)}"


def run_group(suite: Suite, group: Group, deadline: float) -> None:
    figures, measure, ratios = group
    reason = None
    if time.monotonic() > deadline:
        reason = "not run: the suite's time budget (--budget-seconds) was spent"
    else:
        start, cpu = time.monotonic(), time.process_time()
        try:
            with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON lines only
                measure(suite)
        except Exception as error:  # any failure: the figure says why, and the suite goes on
            reason = failure_reason(error)
            if os.environ.get("RU_LLM_DEBUG"):
                traceback.print_exc(file=sys.stderr)
        finally:
            release_memory(suite.cuda)
            wall, cpu = time.monotonic() - start, time.process_time() - cpu
            print(f"gpu_suite: {figures[0]}...: {wall:.1f} s ({cpu:.1f} s CPU)", file=sys.stderr, flush=True)
    for figure in figures:
        suite.report.skip(figure, reason or "not measured")  # no-op for a figure already printed
    for figure, top, bottom in ratios:
        suite.report.ratio(figure, top, bottom)


def release_memory(cuda: bool) -> None:
    gc.collect()
    # What survives is the imported libraries and the suite's own state: frozen, later collections skip it.
    # transformers' Trainer starts every run with a full gc.collect(), which otherwise walks the ~600,000
    # objects of torch, transformers, peft and TRL each time (0.4-0.7 s a run on a CPU).
    gc.freeze()
    if cuda:
        import torch

        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gpu_suite", description="ru-llm's GPU figures, one JSON line each")
    parser.add_argument("--smoke", action="store_true", help="tiny models, seconds, on the CPU (every key printed)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="auto: cpu with --smoke, cuda otherwise")  # fmt: skip
    parser.add_argument("--budget-seconds", type=float, default=None,
                        help="skip groups that would start later (default: 450; none with --smoke)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="also write the lines here (default: $OUT/...)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing from the hub: every model is built here
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import torch

    import ru_llm.cli  # noqa: F401  (announces every package, as the command line does)

    device = args.device if args.device != "auto" else ("cpu" if args.smoke else "cuda")
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_suite: no CUDA device here; the full suite needs one GPU (on a CPU run it with --smoke)")
    if device == "cpu" and not args.smoke:
        sys.exit("gpu_suite: the full suite runs on a GPU; on a CPU run it with --smoke")
    copy_to = args.out or (Path(os.environ["OUT"]) / "gpu_suite.jsonl" if os.environ.get("OUT") else None)
    report = Report(sys.stdout, copy_to)
    chosen = settings(args.smoke)
    # the full suite must end within 8 minutes; --smoke must print every figure, however busy the machine
    budget = args.budget_seconds or (float("inf") if args.smoke else 450.0)
    flash = device == "cuda" and _installed("flash_attn")
    device_name = torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu"
    with tempfile.TemporaryDirectory(prefix="gpu-suite-") as tmp:
        work = Path(tmp)
        suite = Suite(
            smoke=args.smoke, device=device, work=work, report=report,
            attn="flash_attention_2" if flash else "sdpa", device_name=device_name,
            **{k: v for k, v in chosen.items() if k not in ("conversations", "pairs")},
        )  # fmt: skip
        with contextlib.redirect_stdout(sys.stderr):
            suite.conversations = conversations_file(work / "conversations.jsonl", chosen["conversations"])
            suite.preferences = preference_file(work / "pairs.jsonl", chosen["pairs"])
        for group in GROUPS:
            run_group(suite, group, started + budget)
        gc.unfreeze()  # handed back, so that shutdown frees them (else nanobind reports triton's as leaked)
    missing = [name for name in FIGURES if name not in report.values]
    for name in missing:  # a figure no group prints is a bug in the suite; still print the key
        report.skip(name, "not measured: no group prints it")
    peak, peak_source = peak_bf16_flops(device_name) if device == "cuda" else (None, "no GPU")
    report.summary(
        smoke=args.smoke, device=device, device_name=device_name, attn_implementation=suite.attn,
        peak_bf16_flops=peak, peak_source=peak_source, versions=_versions(),
        seconds=round(time.monotonic() - started, 1), budget_seconds=None if budget == float("inf") else budget,
    )  # fmt: skip


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _versions() -> dict[str, str | None]:
    import importlib.metadata as md

    versions: dict[str, str | None] = {}
    for dist in ("torch", "transformers", "peft", "trl", "flash-attn", "liger-kernel", "bitsandbytes", "ctranslate2"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = None
    return versions


if __name__ == "__main__":
    main()
