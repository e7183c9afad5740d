"""Training figures: full fine-tune (tokens/s, MFU), LoRA / QLoRA against plain HF + PEFT, packed against
padded, DPO with and without a precomputed reference, and Liger kernels on and off.

Our runs go through ``ru_llm.train.run.train`` (what ``ru-llm train run`` calls) with a run config; the
baseline is a plain ``transformers.Trainer`` + ``peft.get_peft_model`` on the same samples. A step clock
(synchronising CUDA at every step end) times the steps after the warm-up ones; tokens are the
non-padding tokens of those steps (``tokens_seen`` of metrics.jsonl for our runs, counted in the
collator for the baseline). Peak memory is ``torch.cuda.max_memory_allocated`` over the run (model load
included) above what was allocated before it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpu_suite.report import peak_bf16_flops, train_flops_per_token

if TYPE_CHECKING:
    from gpu_suite.run import Suite

CUDA_ONLY_MEMORY = "peak memory is measured on CUDA only (torch.cuda.max_memory_allocated)"


@dataclass
class Measured:
    timed_steps: int
    seconds: float
    tokens: int | None
    peak_gb: float | None

    @property
    def tokens_per_s(self) -> float:
        return round((self.tokens or 0) / self.seconds, 1)

    @property
    def step_seconds(self) -> float:
        return round(self.seconds / self.timed_steps, 4)


def step_clock(cuda: bool) -> Any:
    """A callback that notes when each optimizer step ends (after the GPU has finished it)."""
    import torch
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self) -> None:
            self.ends: dict[int, float] = {}

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if cuda:
                torch.cuda.synchronize()
            self.ends[state.global_step] = time.perf_counter()

    return StepClock()


@contextlib.contextmanager
def cuda_peak(cuda: bool) -> Iterator[dict[str, float | None]]:
    """``box["peak_gb"]``: the most CUDA memory allocated inside the block above what was held before it."""
    box: dict[str, float | None] = {"peak_gb": None}
    if not cuda:
        yield box
        return
    import torch

    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    yield box
    torch.cuda.synchronize()
    box["peak_gb"] = round((torch.cuda.max_memory_allocated() - before) / 2**30, 3)


def timed(ends: dict[int, float], warmup: int, tokens_by_step: dict[int, int] | None) -> tuple[int, float, int | None]:
    """(timed steps, seconds, tokens) from the end of step ``warmup`` to the last step."""
    last = max(ends)
    if last <= warmup:
        raise RuntimeError(f"the run stopped after {last} steps, before any timed step (warm-up {warmup})")
    tokens = None if tokens_by_step is None else tokens_by_step[last] - tokens_by_step.get(warmup, 0)
    return last - warmup, ends[last] - ends[warmup], tokens


def train_ours(suite: Suite, name: str, model_dir: Path, *, strategy: str, batch_size: int, **values: Any) -> Measured:
    """One run of ``ru-llm train run`` (the library call) on ``model_dir``; timed after the warm-up steps."""
    from rich.console import Console

    from ru_llm.train.configfile import resolve_config
    from ru_llm.train.run import train

    out = suite.work / "runs" / name
    data = suite.preferences if strategy == "dpo" else suite.conversations
    tree = {
        "strategy": strategy, "model": str(model_dir), "data": str(data), "template": "llama2",
        "output_dir": str(out), "max_length": suite.max_length, "max_steps": suite.warmup + suite.steps,
        "batch_size": batch_size, "packing": strategy != "dpo", "logging_steps": 1, "save_steps": 0,
        "device": suite.device, "attn_implementation": suite.attn, "seed": 0,
        "optimizer": {"lr": 1e-5, "scheduler": "constant"},
    }  # fmt: skip
    config, _ = resolve_config(base={**tree, **values})
    clock = step_clock(suite.cuda)
    with cuda_peak(suite.cuda) as peak:
        train(config, overwrite=True, console=Console(stderr=True, quiet=True), callbacks=[clock], progress=False)
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text(encoding="utf-8").splitlines() if line]
    tokens_by_step = {r["step"]: r["tokens_seen"] for r in logged if "tokens_seen" in r}
    shutil.rmtree(out, ignore_errors=True)  # a 1.5B model in fp32 is 6 GB of disk
    steps, seconds, tokens = timed(clock.ends, suite.warmup, tokens_by_step)
    return Measured(steps, seconds, tokens, peak["peak_gb"])


def train_plain_hf_lora(suite: Suite, model_dir: Path, *, batch_size: int) -> Measured:
    """The baseline: transformers' Trainer + PEFT LoRA on a bf16 base, padded batches (no packing), the
    same LoRA settings and attention implementation, on the same samples."""
    import peft
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from gpu_suite.models import encoded_samples
    from ru_llm.core.families import model_family_for

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token or tokenizer.eos_token  # the usual fix for LLaMA tokenizers
    rows = [
        {"input_ids": s.input_ids.tolist(), "labels": s.labels.tolist()}
        for s in encoded_samples(suite.conversations, tokenizer, suite.max_length)
    ]
    pad = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    tokens: list[int] = []

    def collate(features: list[dict[str, Any]]) -> Any:
        tokens.append(sum(len(f["input_ids"]) for f in features))  # batch k is step k's (no accumulation)
        return pad(features)

    clock = step_clock(suite.cuda)
    out = suite.work / "runs" / "plain-hf-lora"
    with cuda_peak(suite.cuda) as peak:
        model = AutoModelForCausalLM.from_pretrained(
            model_dir, dtype=torch.bfloat16 if suite.cuda else torch.float32, attn_implementation=suite.attn
        )
        model.config.use_cache = False
        targets = list(model_family_for(model.config).lora_target_modules)
        lora = peft.LoraConfig(r=16, lora_alpha=16, lora_dropout=0.05, target_modules=targets, task_type="CAUSAL_LM")
        model = peft.get_peft_model(model, lora)
        args = TrainingArguments(
            output_dir=str(out), per_device_train_batch_size=batch_size, max_steps=suite.warmup + suite.steps,
            learning_rate=1e-5, lr_scheduler_type="constant", logging_steps=1, save_strategy="no", report_to="none",
            bf16=suite.cuda, use_cpu=not suite.cuda, disable_tqdm=True, remove_unused_columns=False, seed=0,
            dataloader_num_workers=0,
        )  # fmt: skip
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collate, callbacks=[clock])
        trainer.train()
        del trainer, model
    shutil.rmtree(out, ignore_errors=True)
    tokens_by_step = {step: sum(tokens[:step]) for step in clock.ends}
    steps, seconds, counted = timed(clock.ends, suite.warmup, tokens_by_step)
    return Measured(steps, seconds, counted, peak["peak_gb"])


def _memory(suite: Suite, figure: str, measured: Measured, **context: Any) -> None:
    if measured.peak_gb is None:
        suite.report.skip(figure, CUDA_ONLY_MEMORY)
    else:
        suite.report.emit(figure, measured.peak_gb, **context)


def full_fine_tune(suite: Suite, size: str, *, liger: bool = False) -> None:
    """Full fine-tune of the ``size`` LLaMA at ``max_length`` tokens, packing on: tokens/s, MFU, memory."""
    model_dir, shape = suite.llama(size)
    prefix = f"full_{size}" + ("_liger" if liger else "")
    extra = {"liger_kernel": True} if liger else {}
    batch_size = suite.batch_size["full_" + size]
    measured = train_ours(suite, prefix, model_dir, strategy="full", batch_size=batch_size, **extra)
    context = suite.context(shape, batch_size=batch_size, packing=True, timed_steps=measured.timed_steps)
    suite.report.emit(f"{prefix}_tokens_per_s", measured.tokens_per_s, **context)
    _memory(suite, f"{prefix}_peak_memory_gb", measured, **context)
    if liger:
        return
    flops_per_token = train_flops_per_token(
        shape["matmul_parameters"], shape["layers"], shape["attention_width"], suite.max_length
    )
    if not suite.cuda:
        suite.report.skip(f"{prefix}_mfu", "needs CUDA: MFU is a share of a GPU's peak bf16 FLOP/s")
        return
    peak, source = peak_bf16_flops(suite.device_name)
    if peak is None:
        suite.report.skip(f"{prefix}_mfu", source)
        return
    mfu = round(measured.tokens_per_s * flops_per_token / peak, 4)
    suite.report.emit(
        f"{prefix}_mfu", mfu, flops_per_token=flops_per_token, peak_flops=peak, peak_source=source,
        formula="6*N + 12*layers*heads*head_dim*seq (PaLM), N = parameters but the input embedding", **context,
    )  # fmt: skip


def lora_runs(suite: Suite, *, liger: bool = False) -> None:
    """Our LoRA run (packing on; with ``liger``: Liger kernels on) on the 0.5B model."""
    model_dir, shape = suite.llama("0.5b")
    batch_size = suite.batch_size["lora"]
    name = "lora_liger" if liger else "lora"
    extra = {"liger_kernel": True} if liger else {}
    measured = train_ours(suite, name, model_dir, strategy="lora", batch_size=batch_size, **extra)
    context = suite.context(shape, batch_size=batch_size, packing=True, timed_steps=measured.timed_steps)
    suite.report.emit(f"{name}_tokens_per_s", measured.tokens_per_s, **context)
    _memory(suite, f"{name}_peak_memory_gb", measured, **context)
    if not liger:
        suite.report.emit("packed_tokens_per_s", measured.tokens_per_s, run="lora, packing: true", **context)


def padded_lora(suite: Suite) -> None:
    """The same LoRA run with ``packing: false`` (padded batches of samples)."""
    model_dir, shape = suite.llama("0.5b")
    batch_size = suite.batch_size["lora"]
    measured = train_ours(suite, "lora-padded", model_dir, strategy="lora", batch_size=batch_size, packing=False)
    context = suite.context(shape, batch_size=batch_size, packing=False, timed_steps=measured.timed_steps)
    suite.report.emit("padded_tokens_per_s", measured.tokens_per_s, run="lora, packing: false", **context)


def plain_hf_lora(suite: Suite) -> None:
    model_dir, shape = suite.llama("0.5b")
    batch_size = suite.batch_size["lora"]
    measured = train_plain_hf_lora(suite, model_dir, batch_size=batch_size)
    context = suite.context(shape, batch_size=batch_size, packing=False, timed_steps=measured.timed_steps)
    context["run"] = f"transformers Trainer + peft LoRA, {'bf16' if suite.cuda else 'fp32'} base, padded batches"
    suite.report.emit("plain_hf_lora_tokens_per_s", measured.tokens_per_s, **context)
    _memory(suite, "plain_hf_lora_peak_memory_gb", measured, **context)


def qlora(suite: Suite) -> None:
    """Our LoRA run on an NF4-quantized base (bitsandbytes, CUDA only)."""
    if not suite.cuda:
        for figure in ("qlora_tokens_per_s", "qlora_peak_memory_gb"):
            suite.report.skip(figure, "needs CUDA: bitsandbytes' 4-bit NF4 base trains on a GPU")
        return
    model_dir, shape = suite.llama("0.5b")
    batch_size = suite.batch_size["lora"]
    measured = train_ours(
        suite, "qlora", model_dir, strategy="lora", batch_size=batch_size, lora={"quantization": "nf4"}
    )
    context = suite.context(shape, batch_size=batch_size, packing=True, timed_steps=measured.timed_steps)
    suite.report.emit("qlora_tokens_per_s", measured.tokens_per_s, **context)
    _memory(suite, "qlora_peak_memory_gb", measured, **context)


def dpo(suite: Suite, *, precompute: bool) -> None:
    """Full-parameter DPO on the 0.5B model: the reference model in memory, or its log-probs precomputed
    (the precompute pass runs before the first step, so it is not in the step time)."""
    model_dir, shape = suite.llama("0.5b")
    way = "precomputed" if precompute else "reference_model"
    batch_size = suite.batch_size["dpo"]
    measured = train_ours(
        suite, f"dpo-{way}", model_dir, strategy="dpo", batch_size=batch_size,
        dpo={"method": "full", "precompute_reference": precompute},
    )  # fmt: skip
    context = suite.context(shape, batch_size=batch_size, packing=False, timed_steps=measured.timed_steps)
    suite.report.emit(f"dpo_step_seconds_{way}", measured.step_seconds, **context)
    _memory(suite, f"dpo_peak_memory_gb_{way}", measured, **context)
