"""The transformers Trainer, set up from a run config and a strategy.

Why the plain HF Trainer rather than TRL's SFTTrainer: our data path (templates, exact assistant
masks, whole-turn truncation, packing with restarted positions) already produces finished tensors,
and the Trainer gives DeepSpeed, accelerate/torchrun, exact resume and callbacks without another
layer that re-tokenizes or re-packs.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError, first_line
from ru_llm.core.families import ModelFamily
from ru_llm.train.arguments import run_argument_values
from ru_llm.train.checkpoints import final_staging, publish_checkpoint, rotate, staging_root
from ru_llm.train.config import RunConfig
from ru_llm.train.data.collate import PackedCollator, PaddedCollator, TokenCounter
from ru_llm.train.precision import use_bf16
from ru_llm.train.strategy import TrainerStrategy


def quiet_bitsandbytes() -> None:
    """Drop the third-party noise ``ru_llm.core.quiet`` lists (bitsandbytes' missing-``kernels`` hint among
    it); call before bitsandbytes is first imported. A no-op with ``RU_LLM_VERBOSE=1``."""
    from ru_llm.core.quiet import quiet_third_party

    quiet_third_party()


quiet_bitsandbytes()


@dataclass
class TrainOutcome:
    steps: int
    tokens_seen: int
    final: dict[str, float] = field(default_factory=dict)
    interrupted: str | None = None


_REWARD_KEYS = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")


def load_model(config: RunConfig, strategy: TrainerStrategy, name: str | None = None) -> Any:
    """The run's model (or ``name``, e.g. a DPO reference model, loaded the same way)."""
    import torch
    from transformers import AutoModelForCausalLM

    options: dict[str, Any] = dict(strategy.model_options(config))
    if "quantization_config" in options:
        options["device_map"] = {"": "cpu" if config.device == "cpu" or not torch.cuda.is_available() else 0}
        options["dtype"] = torch.bfloat16 if use_bf16(config) else torch.float32
    elif strategy.frozen_base(config) and use_bf16(config):
        options["dtype"] = torch.bfloat16  # a frozen base in bf16; the adapters stay fp32
    else:
        options["dtype"] = torch.float32  # full training keeps fp32 master weights; bf16 is autocast
    if config.attn_implementation:
        options["attn_implementation"] = config.attn_implementation
    try:
        from ru_llm.train.sharded import load_partitioned

        partitioned = load_partitioned(name or config.model, options, trust_remote_code=config.trust_remote_code)
        return (
            partitioned
            if partitioned is not None
            else AutoModelForCausalLM.from_pretrained(
                name or config.model, trust_remote_code=config.trust_remote_code, use_safetensors=None, **options
            )
        )
    except (OSError, ValueError, ImportError, RuntimeError) as e:
        keys = [key for key, value in strategy.reference_models(config).items() if value == name]
        what = "model" if name is None or name == config.model or not keys else keys[0]
        raise ConfigError(f"{what}: cannot load {name or config.model!r}: {first_line(e)}") from None


def training_arguments(
    config: RunConfig, strategy: TrainerStrategy, out: Path, has_validation: bool, arguments_class: type | None = None
) -> Any:
    """The trainer's arguments: the run's, then the strategy's (``arguments_class``: e.g. TRL's DPOConfig)."""
    from transformers import TrainingArguments

    arguments_class = arguments_class or TrainingArguments
    values = run_argument_values(config, out, has_validation)
    values.update(strategy.trainer_arguments(config, out))
    if arguments_class is not TrainingArguments:
        # TRL's configs turn gradient checkpointing on by default, under its old name; say it both ways
        values["gradient_checkpointing"] = config.gradient_checkpointing
    if values.get("deepspeed"):
        from ru_llm.train.deepspeed import before_deepspeed_starts

        before_deepspeed_starts()  # a run without a launcher: a one-process group instead of MPI discovery
    try:
        return arguments_class(**values)
    except (ValueError, ImportError) as e:
        raise ConfigError(f"the trainer refused the settings: {first_line(e)}") from None


def _distributed() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _from_main_process(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (rank 0 alone checked the output directory)."""
    if not _distributed():
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _all_tokens(counter: TokenCounter, device: Any) -> int:
    """Tokens seen by every rank together (each collator counts only its own rank's batches)."""
    if not _distributed():
        return counter.tokens
    import torch
    import torch.distributed as dist

    total = torch.tensor([counter.tokens], dtype=torch.long, device=device)
    dist.all_reduce(total)
    return int(total.item())


def _tokens_at(metrics: Path, step: int) -> int:
    """``tokens_seen`` of the last line of ``metrics.jsonl`` at or before ``step`` (0 for a fresh run)."""
    if step <= 0:
        return 0
    from ru_llm.train.outputs import read_metrics

    seen = 0
    for record in read_metrics(metrics):
        if record.get("step", 0) <= step and "tokens_seen" in record:
            seen = int(record["tokens_seen"])
    return seen


def _stop_together(stop: Any) -> Any:
    """A callback that makes every rank stop at the same step as the first rank that got a signal.

    A signal can reach one rank only, or reach the ranks either side of a step boundary; a rank that
    stops (and saves, a collective under ZeRO) while the others train on would hang the run.
    """
    import signal

    import torch
    import torch.distributed as dist
    from transformers import TrainerCallback

    class StopTogether(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            requested = signal.Signals[stop.requested].value if stop.requested else 0
            flag = torch.tensor([requested], dtype=torch.long, device=args.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            if flag.item() and stop.requested is None:
                stop.requested = signal.Signals(int(flag.item())).name

    return StopTogether()


def run_trainer(
    config: RunConfig,
    strategy: TrainerStrategy,
    family: ModelFamily,
    tokenizer: Any,
    prepared: Any,
    out: Path,
    *,
    resume_from: Path | None,
    console: Any,
    extra_callbacks: list[Any],
    progress: bool,
) -> TrainOutcome:
    from transformers import PrinterCallback, Trainer, set_seed
    from transformers.utils import logging as hf_logging

    from ru_llm.train.callbacks import GracefulStop, MetricsLog, RichProgress

    set_seed(config.seed)
    hf_logging.disable_progress_bar()  # the run shows its own progress
    quiet_bitsandbytes()  # ru_llm.core.quiet's list (the checkpointing-rename warnings among it), once more:
    # a caller may have reset the warning filters since this module was imported
    from ru_llm.train.sharded import sharded_loading

    # under ZeRO-3 every model below (a DPO reference too) is built partitioned, until the trainer's arguments exist
    sharded = sharded_loading(config, strategy, out, prepared.validation is not None)
    model = load_model(config, strategy)
    model = strategy.prepare(model, config, family)
    if getattr(model.config, "use_cache", False):
        model.config.use_cache = False  # useless in training; clashes with checkpointing and packed masks
    counter = TokenCounter()
    pad_id = tokenizer.pad_token_id
    parts = strategy.trainer_parts(config, tokenizer, counter, lambda name: load_model(config, strategy, name))
    options = dict(parts.options) if parts else {}
    collator = options.pop("data_collator", None)
    if collator is None:
        collate = PackedCollator if prepared.packed else PaddedCollator
        collator = collate(pad_id, counter=counter)
    args = training_arguments(
        config, strategy, out, prepared.validation is not None, parts.arguments_class if parts else None
    )  # starts the process group
    sharded.close()
    perplexity = prepared.language_model_loss  # a DPO loss is not a language-model loss
    resume_from = _from_main_process(resume_from)
    stop = GracefulStop()
    resume_step = int(resume_from.name.split("-")[1]) if resume_from else 0
    callbacks = [MetricsLog(out / "metrics.jsonl", resume_step=resume_step) if args.process_index == 0 else None]
    # GracefulStop last: it sees a signal that arrived anywhere in the step, callbacks included
    callbacks += [RichProgress(console, counter, enabled=progress, perplexity=perplexity), *extra_callbacks]
    callbacks += [_stop_together(stop) if _distributed() else None, stop]

    class RunTrainer(parts.trainer_class if parts else Trainer):  # type: ignore[misc]
        def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
            if "eval_loss" in logs and perplexity:
                logs["eval_perplexity"] = math.exp(min(logs["eval_loss"], 50.0))
            if "loss" in logs:  # every rank logs the loss (it is gathered), so the sum is collective too
                logs.setdefault("tokens_seen", _all_tokens(counter, self.args.device))
            super().log(logs, *args, **kwargs)

        def _get_output_dir(self, trial: Any) -> str:
            # while a checkpoint is saved: the staging area, so that no rank ever writes into a
            # folder named checkpoint-N (see ru_llm.train.checkpoints)
            return str(self._staging) if self._staging is not None else super()._get_output_dir(trial)

        def _save_checkpoint(self, model: Any, trial: Any) -> None:
            self._staging = staging_root(out)
            try:
                super()._save_checkpoint(model, trial)
            finally:
                self._staging = None
            publish_staged_checkpoint(self, out, config.save_total_limit)

        def _run_epoch(self, *args: Any, **kwargs: Any) -> Any:
            if 0 < self.state.max_steps <= self.state.global_step:
                # resumed from the checkpoint of the last step (a kill during the final save): nothing is
                # left to train, but transformers would take one step more before it checks
                self.control.should_training_stop = True
                return None
            return super()._run_epoch(*args, **kwargs)

        def create_model_card(self, *args: Any, **kwargs: Any) -> None:
            # TRL's trainers write their own README.md at every checkpoint; the run writes the model card
            # once, last, and its presence is what marks a run finished (a resume must not see one before)
            return None

        def training_step(self, *args: Any, **kwargs: Any) -> Any:
            counter.trained()  # this (micro-)batch's tokens
            return super().training_step(*args, **kwargs)

        def evaluate(self, *args: Any, **kwargs: Any) -> Any:
            waiting = len(counter.pending)  # the training batch the loader made ahead
            try:
                return super().evaluate(*args, **kwargs)
            finally:
                while len(counter.pending) > waiting:  # validation batches are not training tokens
                    counter.pending.pop()

        def create_optimizer(self, *args: Any, **kwargs: Any) -> Any:
            # a strategy may give some parameters their own learning rate (Ruadapt's embeddings)
            groups = strategy.parameter_groups(self.model, config)
            if not groups or self.optimizer is not None:
                return super().create_optimizer(*args, **kwargs)
            import torch

            opt = config.optimizer
            self.optimizer = torch.optim.AdamW(
                [g for g in groups if g["params"]], lr=opt.lr, betas=tuple(opt.betas), eps=opt.eps,
                weight_decay=opt.weight_decay,
            )  # fmt: skip
            return self.optimizer

    RunTrainer._staging = None
    trainer = RunTrainer(
        model=model,
        args=args,
        train_dataset=prepared.train,
        eval_dataset=prepared.validation,
        data_collator=collator,
        callbacks=[c for c in callbacks if c is not None],
        **options,
    )
    # a strategy's trainer may have read the data already (DPO's reference precompute); a resumed run
    # goes on counting from the tokens its checkpoint had seen (rank 0 holds them; the count is a sum)
    counter.tokens = _tokens_at(out / "metrics.jsonl", resume_step) if args.process_index == 0 else 0
    counter.pending.clear()
    trainer.remove_callback(PrinterCallback)  # it prints every log dict; metrics.jsonl and the bar have them
    stop.install()
    try:
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        if stop.requested is not None:
            tokens = _all_tokens(counter, args.device)
            return TrainOutcome(trainer.state.global_step, tokens, interrupted=stop.requested)
        final: dict[str, float] = {}
        if prepared.validation is not None:
            step = trainer.state.global_step
            done = [h for h in trainer.state.log_history if "eval_loss" in h and h.get("step") == step]
            if done:
                final["eval_loss"] = float(done[-1]["eval_loss"])
            else:
                final["eval_loss"] = float(trainer.evaluate()["eval_loss"])
            if perplexity:
                final["eval_perplexity"] = math.exp(min(final["eval_loss"], 50.0))
        losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
        if losses:
            final["train_loss"] = float(losses[-1])
        for key in _REWARD_KEYS:  # preference runs: the last logged reward statistics
            logged = [h[key] for h in trainer.state.log_history if key in h]
            if logged:
                final[key] = float(logged[-1])
        tokens = _all_tokens(counter, args.device)
        # the final model goes to a staging folder that the run publishes whole (ru_llm.train.checkpoints)
        staged = final_staging(out)
        staged.mkdir(parents=True, exist_ok=True)
        strategy.save(trainer, staged)  # on every rank: ZeRO-3 gathers the shards, rank 0 writes
        if trainer.is_world_process_zero():
            save_tokenizer(tokenizer, prepared.template_name, family, staged)
        return TrainOutcome(trainer.state.global_step, tokens, final)
    finally:
        stop.uninstall()


def publish_staged_checkpoint(trainer: Any, out: Path, limit: int | None) -> None:
    """Make the checkpoint every rank just wrote into the staging area visible under its real name.

    All ranks must have finished writing their shards first; then the saving process (rank 0, or each
    node's first with ``save_on_each_node``) seals and renames it and drops checkpoints beyond ``limit``.
    """
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    if _distributed():
        import torch.distributed as dist

        dist.barrier()
    staged = staging_root(out) / f"{PREFIX_CHECKPOINT_DIR}-{trainer.state.global_step}"
    if trainer.args.should_save:
        if not staged.is_dir():
            if (out / staged.name).is_dir():
                return  # another node on a shared disk published it already (save_on_each_node)
            raise RuntimeError(f"{staged}: the trainer saved its checkpoint elsewhere (transformers changed?)")
        publish_checkpoint(staged, out, step=trainer.state.global_step)
        rotate(out, limit)
        with contextlib.suppress(OSError):
            staging_root(out).rmdir()  # only when empty: nothing else is being written
    if _distributed():
        import torch.distributed as dist

        dist.barrier()  # no rank goes on (or stops) before the checkpoint is published


def save_tokenizer(tokenizer: Any, template_name: str, family: ModelFamily, out: Path) -> None:
    """The tokenizer with the serving chat template of the template trained on."""
    from ru_llm.dataset.registry import get_template
    from ru_llm.dataset.templates.jinja import export_chat_template

    try:
        template = get_template(template_name)
    except Exception:
        template = None
    if template is not None and not callable(getattr(template, "bind", None)):
        tokenizer.chat_template = export_chat_template(template)
    tokenizer.save_pretrained(str(out))
