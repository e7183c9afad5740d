"""The ``TrainingArguments`` values a run config gives, before a strategy adds its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ru_llm.train.config import RunConfig
from ru_llm.train.precision import use_bf16


def run_argument_values(config: RunConfig, out: Path, has_validation: bool) -> dict[str, Any]:
    """The ``TrainingArguments`` values the run config gives (before the strategy adds its own)."""
    opt = config.optimizer
    warmup: float = opt.warmup_steps if opt.warmup_steps > 0 else opt.warmup_ratio
    evaluating = has_validation and config.eval_steps > 0
    return {
        "output_dir": str(out),
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.grad_accum,
        "learning_rate": opt.lr,
        "adam_beta1": opt.betas[0],
        "adam_beta2": opt.betas[1],
        "adam_epsilon": opt.eps,
        "weight_decay": opt.weight_decay,
        "lr_scheduler_type": opt.scheduler,
        "warmup_steps": warmup,
        "max_grad_norm": opt.max_grad_norm,
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps,
        "seed": config.seed,
        "data_seed": config.seed,
        "logging_steps": config.logging_steps,
        "eval_strategy": "steps" if evaluating else "no",
        "eval_steps": config.eval_steps if evaluating else None,
        "save_strategy": "steps" if config.save_steps > 0 else "no",
        "save_steps": config.save_steps if config.save_steps > 0 else 500,
        "save_total_limit": config.save_total_limit,
        "report_to": [r for r in config.report_to if r != "none"] or "none",
        "bf16": use_bf16(config),
        "fp16": config.precision == "fp16",
        "use_liger_kernel": config.liger_kernel,
        "use_cpu": _use_cpu(config),
        **_checkpointing_arguments(config.gradient_checkpointing),
        "dataloader_pin_memory": _cuda_available(),
        "remove_unused_columns": False,  # our collators build exactly the model's inputs
        "disable_tqdm": True,  # the run shows its own rich progress
        "dataloader_num_workers": 0,
        "label_names": ["labels"],
    }


def _use_cpu(config: RunConfig) -> bool:
    """``device: cpu``, or ``auto`` on a machine with neither CUDA nor MPS.

    Only ``use_cpu`` makes transformers start a CPU process group (gloo) under torchrun; without it a
    CPU-only machine's ranks look like one process to accelerate (DeepSpeed then sizes the batch for a
    world of 1 and asserts, and plain DDP would not synchronise at all).
    """
    import torch

    if config.device != "auto":
        return config.device == "cpu"
    mps = getattr(torch.backends, "mps", None)
    return not (torch.cuda.is_available() or (mps is not None and mps.is_available()))


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _checkpointing_arguments(enabled: bool) -> dict[str, Any]:
    """Gradient checkpointing under the name this transformers version uses (v5.2x renamed it)."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    prefix = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    kwargs = {"use_reentrant": False} if enabled else None
    return {prefix: enabled, f"{prefix}_kwargs": kwargs} if f"{prefix}_kwargs" in names else {prefix: enabled}
