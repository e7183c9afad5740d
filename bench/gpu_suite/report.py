"""The suite's figures: their names and units, one JSON line each, and the GPU arithmetic (peak, MFU)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

# Every figure the suite prints, in order, with its unit. A figure that could not be measured is still
# printed, with a null value and the reason (``skipped``).
FIGURES: dict[str, str] = {
    "full_0.5b_tokens_per_s": "tokens/s",
    "full_0.5b_mfu": "fraction of peak bf16 FLOP/s",
    "full_0.5b_peak_memory_gb": "GiB",
    "full_1.5b_tokens_per_s": "tokens/s",
    "full_1.5b_mfu": "fraction of peak bf16 FLOP/s",
    "full_1.5b_peak_memory_gb": "GiB",
    "lora_tokens_per_s": "tokens/s",
    "lora_peak_memory_gb": "GiB",
    "plain_hf_lora_tokens_per_s": "tokens/s",
    "plain_hf_lora_peak_memory_gb": "GiB",
    "lora_vs_plain_hf_tokens_per_s_ratio": "ratio",
    "lora_vs_plain_hf_peak_memory_ratio": "ratio",
    "qlora_tokens_per_s": "tokens/s",
    "qlora_peak_memory_gb": "GiB",
    "qlora_vs_plain_hf_tokens_per_s_ratio": "ratio",
    "qlora_vs_plain_hf_peak_memory_ratio": "ratio",
    "padded_tokens_per_s": "tokens/s",
    "packed_tokens_per_s": "tokens/s",
    "packed_vs_padded_tokens_per_s_ratio": "ratio",
    "dpo_step_seconds_reference_model": "s/step",
    "dpo_step_seconds_precomputed": "s/step",
    "dpo_precomputed_vs_reference_step_time_ratio": "ratio",
    "dpo_peak_memory_gb_reference_model": "GiB",
    "dpo_peak_memory_gb_precomputed": "GiB",
    "dpo_precomputed_vs_reference_peak_memory_ratio": "ratio",
    "mmlu_5shot_questions_per_s": "questions/s",
    "translate_hf_tokens_per_s": "tokens/s",
    "translate_ct2_tokens_per_s": "tokens/s",
    "translate_hf_vs_ct2_tokens_per_s_ratio": "ratio",
    "full_0.5b_liger_tokens_per_s": "tokens/s",
    "full_0.5b_liger_peak_memory_gb": "GiB",
    "full_0.5b_liger_vs_plain_tokens_per_s_ratio": "ratio",
    "full_0.5b_liger_vs_plain_peak_memory_ratio": "ratio",
    "lora_liger_tokens_per_s": "tokens/s",
    "lora_liger_peak_memory_gb": "GiB",
    "lora_liger_vs_plain_hf_tokens_per_s_ratio": "ratio",
    "lora_liger_vs_plain_hf_peak_memory_ratio": "ratio",
}

# The project's performance goals (issue 25; packing: issue 9), checked in the summary line.
TARGETS: dict[str, tuple[str, float]] = {
    "full_0.5b_mfu": (">=", 0.45),
    "full_1.5b_mfu": (">=", 0.45),
    "lora_vs_plain_hf_tokens_per_s_ratio": (">=", 1.5),
    "lora_vs_plain_hf_peak_memory_ratio": ("<=", 0.5),
    "packed_vs_padded_tokens_per_s_ratio": (">=", 2.0),
    "translate_hf_vs_ct2_tokens_per_s_ratio": (">=", 0.8),
}

PEAK_ENV = "RU_LLM_PEAK_BF16_TFLOPS"
# Dense bf16 tensor-core peaks (no sparsity), from NVIDIA's data sheets; the first name found in
# torch.cuda.get_device_name() wins, so the specific variants come before the family.
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H200 NVL", 835.0),
    ("H200", 989.4),
    ("H100 NVL", 835.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.4),
    ("H800 PCIe", 756.0),
    ("H800", 989.4),
    ("A100", 312.0),
    ("A800", 312.0),
)


def peak_bf16_flops(device_name: str | None) -> tuple[float | None, str]:
    """The GPU's peak bf16 FLOP/s and where the number came from (``None``: unknown, say how to set it)."""
    override = os.environ.get(PEAK_ENV)
    if override:
        try:
            return float(override) * 1e12, f"{PEAK_ENV}={override}"
        except ValueError:
            sys.exit(f"{PEAK_ENV}={override!r} is not a number of TFLOP/s (e.g. 989.4 for an H100 SXM)")
    if device_name:
        for pattern, tflops in PEAK_BF16_TFLOPS:
            if pattern.lower() in device_name.lower():
                return tflops * 1e12, f"data sheet of {pattern}: {tflops} TFLOP/s"
    return None, f"unknown peak for {device_name or 'this device'}: set {PEAK_ENV} (dense bf16 TFLOP/s)"


def train_flops_per_token(matmul_parameters: int, layers: int, attention_width: int, sequence: int) -> float:
    """Training FLOPs per token: 6·N for the weight matmuls (forward and backward) plus PaLM's attention
    term 12·L·(heads·head_dim)·T at sequence length T (not halved for the causal mask, as in PaLM)."""
    return 6.0 * matmul_parameters + 12.0 * layers * attention_width * sequence


class Report:
    """Prints one JSON line per figure (and copies it to ``$OUT/gpu_suite.jsonl`` when $OUT is set)."""

    def __init__(self, stream: IO[str], copy_to: Path | None) -> None:
        self.stream = stream
        self.copy_to = copy_to
        self.values: dict[str, float | None] = {}
        self.skipped: dict[str, str] = {}
        if copy_to is not None:
            copy_to.parent.mkdir(parents=True, exist_ok=True)
            copy_to.write_text("", encoding="utf-8")

    def _line(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False)
        print(line, file=self.stream, flush=True)
        if self.copy_to is not None:
            with self.copy_to.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    def emit(self, figure: str, value: float, **context: Any) -> None:
        if figure not in FIGURES:
            raise KeyError(f"unknown figure {figure!r}: add it to FIGURES")
        if figure in self.values:
            return
        self.values[figure] = value
        self._line({"figure": figure, "value": value, "unit": FIGURES[figure], **context})

    def skip(self, figure: str, reason: str) -> None:
        if figure in self.values:
            return
        self.values[figure] = None
        self.skipped[figure] = reason
        self._line({"figure": figure, "value": None, "unit": FIGURES[figure], "skipped": reason})

    def ratio(self, figure: str, numerator: str, denominator: str, **context: Any) -> None:
        """``numerator / denominator`` of two figures already printed (skipped, with why, if either is null)."""
        top, bottom = self.values.get(numerator), self.values.get(denominator)
        if top is None or not bottom:
            missing = numerator if top is None else denominator
            self.skip(figure, f"{missing} was not measured: {self.skipped.get(missing, 'no value')}")
            return
        self.emit(figure, round(top / bottom, 3), numerator=numerator, denominator=denominator, **context)

    def summary(self, **context: Any) -> dict[str, Any]:
        """The last line: every figure's value, the skip reasons and the targets met (null: not measured)."""
        meets: dict[str, bool | None] = {}
        for figure, (op, bound) in TARGETS.items():
            value = self.values.get(figure)
            meets[figure] = None if value is None else (value >= bound if op == ">=" else value <= bound)
        record = {
            "benchmark": "gpu_suite",
            **context,
            "figures": {name: self.values.get(name) for name in FIGURES},
            "skipped": self.skipped,
            "targets": {name: f"{op} {bound}" for name, (op, bound) in TARGETS.items()},
            "meets_targets": meets,
        }
        self._line(record)
        return record
