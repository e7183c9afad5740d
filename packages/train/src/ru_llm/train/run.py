"""One training run: check everything, prepare data, train with the transformers Trainer, write outputs.

Every check that can fail on user input runs before the model is loaded and before anything is
written at ``output_dir``; a run that stops early never leaves files that look like a finished model
(the weights are written last, the model card after them).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ru_llm.core.atomic import output_lock, refuse_if_locked, write_marker
from ru_llm.core.errors import ConfigError
from ru_llm.core.jsonl import Reject, RejectsWriter, atomic_open
from ru_llm.train.checkpoints import final_staging, publish_final
from ru_llm.train.config import RunConfig
from ru_llm.train.configfile import dump_yaml, resolved_tree
from ru_llm.train.loading import check_context, load_model_config, load_run_tokenizer
from ru_llm.train.output_dir import CONFIG_FILE, prepare_output_dir, refuse_settled
from ru_llm.train.pipelines import DataPipeline
from ru_llm.train.strategy import TrainerStrategy

if TYPE_CHECKING:
    from ru_llm.train.datasets import PreparedData


@dataclass
class TrainResult:
    output_dir: Path
    steps: int
    tokens_seen: int
    data: dict[str, Any]
    final: dict[str, float]
    resumed_from: str | None = None
    interrupted: str | None = None
    files: list[str] = field(default_factory=list)


# -- checks before anything is loaded ---------------------------------------------------------------
_LOCAL_DATA_SUFFIXES = (".jsonl", ".gz", ".json", ".parquet", ".arrow")


def check_inputs_early(
    config: RunConfig,
    strategy: TrainerStrategy,
    pipeline: DataPipeline,
    tree: dict[str, Any],
    out: Path,
    *,
    overwrite: bool,
    check_output: bool = True,
) -> None:
    """Every check that needs no model library, run before torch or transformers is imported, so that a
    mistyped path, a used output directory or an unknown template answers in about a second."""
    from ru_llm.core.hf import check_model_source
    from ru_llm.core.hub import check_hub_model

    model_dir = check_model_source(config.model, what="model")
    if model_dir is None:
        check_hub_model(config.model, what="model")
    for key, reference in strategy.reference_models(config).items():
        if check_model_source(reference, what=key, need_tokenizer=False) is None:
            check_hub_model(reference, what=key)
    inputs: list[Path] = [model_dir] if model_dir is not None else []
    for key in ("data", "validation_data"):
        value = getattr(config, key)
        if value is None or value.startswith("hf:"):
            continue
        path = Path(value).expanduser()
        if path.exists():
            inputs.append(path)
        elif key == "validation_data" or value.startswith((".", "/", "~")) or value.endswith(_LOCAL_DATA_SUFFIXES):
            raise ConfigError(
                f"{key}: {value}: no such file or directory",
                hint="give a `ru-llm dataset build` output directory, a conversation JSONL or a hub id (owner/name)",
            )
    inputs += pipeline.inputs(config)
    if config.template is not None:
        from ru_llm.dataset.registry import get_template

        get_template(config.template)  # an unknown name lists the known ones
    if check_output:
        refuse_if_locked(out, flag="output_dir")
        prepare_output_dir(out, tree, overwrite=overwrite, inputs=inputs, dry_run=True)
    else:  # another rank of a distributed run: what stops rank 0 for sure stops this one too, here
        refuse_settled(out, tree, overwrite=overwrite)


def check_device(config: RunConfig) -> None:
    """A GPU-only option on a machine without one is a one-line error."""
    import torch

    cuda = torch.cuda.is_available()
    if config.device.startswith("cuda") and not cuda:
        raise ConfigError(f"device: {config.device!r} but this machine has no CUDA GPU", hint="use device: auto or cpu")
    if config.device not in ("auto", "cpu", "cuda", "mps"):
        raise ConfigError(
            f"device: {config.device!r} is not auto, cpu, cuda or mps",
            hint="pick GPUs with CUDA_VISIBLE_DEVICES (e.g. CUDA_VISIBLE_DEVICES=1) or torchrun",
        )
    on_cpu = config.device == "cpu" or not cuda
    if config.precision == "fp16" and on_cpu:
        raise ConfigError("precision: fp16 needs a CUDA GPU", hint="use precision: auto (fp32 on CPU) or bf16")
    if config.precision == "bf16" and not on_cpu and not torch.cuda.is_bf16_supported():
        raise ConfigError("precision: bf16 is not supported by this GPU", hint="use precision: fp16 or auto")
    if config.attn_implementation == "flash_attention_2" and on_cpu:
        raise ConfigError("attn_implementation: flash_attention_2 needs a CUDA GPU", hint="use sdpa or leave it unset")
    if config.liger_kernel:
        check_liger(on_cpu)


def check_liger(on_cpu: bool) -> None:
    """``liger_kernel: true`` needs the liger-kernel package and a CUDA GPU (its kernels are Triton)."""
    import importlib.util

    if importlib.util.find_spec("liger_kernel") is None:
        raise ConfigError(
            "liger_kernel: true but liger-kernel is not installed",
            hint='pip install "ru-llm-train[liger]", or set liger_kernel: false',
        )
    if on_cpu:
        raise ConfigError(
            "liger_kernel: true needs a CUDA GPU (Liger's kernels are Triton kernels)",
            hint="run on a CUDA device, or set liger_kernel: false",
        )


# -- the run -----------------------------------------------------------------------------------------
def train(
    config: RunConfig,
    *,
    overwrite: bool = False,
    console: Any = None,
    callbacks: list[Any] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train as ``config`` says and write the output directory; see the module docstring."""
    from rich.console import Console

    from ru_llm.core.families import model_family_for
    from ru_llm.train.registry import get_pipeline, get_strategy

    console = console or Console(stderr=True)
    is_main = int(os.environ.get("RANK", "0")) == 0
    if not is_main:
        console.quiet = True  # under torchrun rank 0 reports; the others would repeat every table and line
    strategy = get_strategy(config.strategy)
    pipeline = get_pipeline(strategy.data_kind)
    tree = resolved_tree(config)
    out = Path(config.output_dir).expanduser()
    check_inputs_early(config, strategy, pipeline, tree, out, overwrite=overwrite, check_output=is_main)
    strategy.check(config)
    check_device(config)
    model_config = load_model_config(config)
    family = model_family_for(model_config)
    check_context(config, model_config)
    tokenizer = load_run_tokenizer(config, family)
    pipeline.check(config, model_config)

    from ru_llm.train.preflight import check_strategy_on_skeleton, check_trainer_arguments

    check_strategy_on_skeleton(config, strategy, family, model_config)
    rejects: list[Reject] = []
    prepared = pipeline.prepare(config, family, tokenizer, rejects.append, console)
    if config.commercial:  # only records stamped commercial: true (cpt: corpora marked so); see data.sources
        from ru_llm.train.data.sources import check_commercial

        check_commercial(prepared.sources)
    model_dir = Path(config.model).expanduser()
    check_trainer_arguments(config, strategy, out, prepared.validation is not None)
    inputs = [p for p in [*prepared.files, model_dir] if p.exists()]
    with contextlib.ExitStack() as held:
        if is_main:  # one run at a time writes into an output directory (ranks of one run share it)
            held.enter_context(output_lock(out, flag="output_dir"))
        # Only the main process checks and changes the directory (another rank reading it meanwhile would
        # race with the writes below); the trainer hands its resume decision to the other ranks.
        resume_from = (
            prepare_output_dir(out, tree, overwrite=overwrite, inputs=inputs, say=console.print) if is_main else None
        )
        if is_main:
            out.mkdir(parents=True, exist_ok=True)
            write_marker(out, "train run")
            with atomic_open(out / CONFIG_FILE) as fh:
                fh.write(dump_yaml(tree))
            with RejectsWriter(out / "rejects.jsonl") as writer:
                for reject in rejects:
                    writer(reject)
        from ru_llm.train.trainer import run_trainer

        outcome = run_trainer(
            config,
            strategy,
            family,
            tokenizer,
            prepared,
            out,
            resume_from=resume_from,
            console=console,
            extra_callbacks=callbacks or [],
            progress=progress and is_main,
        )
        result = TrainResult(
            out,
            outcome.steps,
            outcome.tokens_seen,
            prepared.stats.to_dict(),
            outcome.final,
            resumed_from=str(resume_from) if resume_from else None,
            interrupted=outcome.interrupted,
        )
        if outcome.interrupted:
            return result
        if is_main:
            finish_outputs(config, strategy, pipeline, prepared, tree, result)
            result.files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        return result


def finish_outputs(
    config: RunConfig,
    strategy: TrainerStrategy,
    pipeline: DataPipeline,
    prepared: PreparedData,
    tree: dict[str, Any],
    result: TrainResult,
) -> None:
    """Loss curve, training report and model card beside the staged weights, then all of it published
    into the output directory (the card last, then the record that marks the run finished)."""
    from ru_llm.train.config import BUILTIN_BLOCKS
    from ru_llm.train.outputs import card_config, model_card, plot_losses, read_metrics, settings_in_use

    out = result.output_dir
    staged = final_staging(out)
    metrics = read_metrics(out / "metrics.jsonl")
    plot_losses(metrics, staged / "loss.png")
    report = {
        "steps": result.steps,
        "tokens_seen": result.tokens_seen,
        "data": result.data,
        "final": result.final,
        "resumed_from": result.resumed_from,
    }
    (staged / "train_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    adapter = (staged / "adapter_config.json").is_file()
    shown = settings_in_use(config, strategy, pipeline)
    blocks = (*BUILTIN_BLOCKS, *config.plugin_settings)
    card = model_card(
        base_model=config.model,
        strategy=strategy.card_label(config),
        adapter=adapter,
        sources=prepared.sources,
        data=prepared.description,
        resolved_yaml=dump_yaml(card_config(tree, shown, blocks)),
        report=report,
        template=prepared.template_name,
    )
    (staged / "README.md").write_text(card, encoding="utf-8")
    publish_final(staged, out, steps=result.steps)
