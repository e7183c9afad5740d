"""One training run: check everything, prepare data, train with the transformers Trainer, write outputs.

Every check that can fail on user input runs before the model is loaded and before anything is
written at ``output_dir``; a run that stops early never leaves files that look like a finished model
(the weights are written last, the model card after them).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.atomic import (
    LOCK,
    check_output_dir,
    holds_files,
    output_lock,
    refuse_if_locked,
    refuse_inputs_inside,
    write_marker,
)
from ru_llm.core.errors import ConfigError, RuLLMError, first_line
from ru_llm.core.jsonl import Reject, RejectsWriter, atomic_open
from ru_llm.train.checkpoints import (
    clear_staging,
    final_staging,
    finished_problem,
    is_finished,
    publish_final,
    remove_incomplete,
    scan_checkpoints,
)
from ru_llm.train.config import RunConfig
from ru_llm.train.configfile import dump_yaml, resolved_tree
from ru_llm.train.data.sources import DataSource

CONFIG_FILE = "config.resolved.yaml"
# Control tokens written literally by chat templates; each must be one token of the tokenizer, or the
# model would learn to spell them. (<s>, </s> and [INST] are left out: LLaMA-2, Mistral v0.1 and the
# paper's human_assistant format write them as plain text where the tokenizer has no such token.)
_TEMPLATE_SPECIAL = re.compile(r"<\|[^|<>\s]{1,40}\|>|<(?:start|end)_of_turn>")


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
    config: RunConfig, tree: dict[str, Any], out: Path, *, overwrite: bool, check_output: bool = True
) -> None:
    """Every check that needs no model library, run before torch or transformers is imported, so that a
    mistyped path, a used output directory or an unknown template answers in about a second."""
    from ru_llm.core.hf import check_model_source
    from ru_llm.core.hub import check_hub_model

    model_dir = check_model_source(config.model, what="model")
    if model_dir is None:
        check_hub_model(config.model, what="model")
    reference = config.dpo.reference if config.strategy == "dpo" else None
    if reference is not None and check_model_source(reference, what="dpo.reference", need_tokenizer=False) is None:
        check_hub_model(reference, what="dpo.reference")
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
    if config.cpt.corpora:
        from ru_llm.train.data.text import check_corpus

        for corpus in config.cpt.corpora:
            check_corpus(corpus)
            if not corpus.path.startswith("hf:"):
                inputs.append(Path(corpus.path).expanduser())
    if config.template is not None:
        from ru_llm.dataset.registry import get_template

        get_template(config.template)  # an unknown name lists the known ones
    if check_output:
        refuse_if_locked(out, flag="output_dir")
        prepare_output_dir(out, tree, overwrite=overwrite, inputs=inputs, dry_run=True)


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


def use_bf16(config: RunConfig) -> bool:
    import torch

    if config.precision == "bf16":
        return True
    on_gpu = torch.cuda.is_available() and config.device != "cpu"
    return config.precision == "auto" and on_gpu and torch.cuda.is_bf16_supported()


def load_model_config(config: RunConfig) -> Any:
    """The model's transformers config (local directory or hub id)."""
    from transformers import AutoConfig

    path = Path(config.model).expanduser()
    if path.exists() and not (path / "config.json").is_file():
        raise ConfigError(f"model: {config.model}: no config.json", hint="pass a directory saved by transformers")
    try:
        return AutoConfig.from_pretrained(
            str(path) if path.exists() else config.model, trust_remote_code=config.trust_remote_code
        )
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"model: cannot load {config.model!r}: {first_line(e)}",
            hint="offline? pass a local model directory",
        ) from None


def check_context(config: RunConfig, model_config: Any) -> None:
    limit = getattr(model_config, "max_position_embeddings", None) or getattr(model_config, "n_positions", None)
    if limit and config.max_length > limit:
        raise ConfigError(
            f"max_length {config.max_length} is above the model's context of {limit} tokens",
            hint=f"set max_length to {limit} or less",
        )


def load_run_tokenizer(config: RunConfig, family: Any) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(config.model, trust_remote_code=config.trust_remote_code)
    except (OSError, ValueError, TypeError) as e:
        raise ConfigError(
            f"model: {config.model}: no usable tokenizer ({first_line(e)})",
            hint="save the tokenizer beside the model (tokenizer.json / tokenizer_config.json)",
        ) from None
    if tokenizer.pad_token is None:
        pad = family.pad_token or tokenizer.eos_token
        if pad is None:
            raise ConfigError(f"model: {config.model}: the tokenizer has neither a pad nor an EOS token")
        tokenizer.pad_token = pad
    return tokenizer


def check_template_tokens(template: Any, tokenizer: Any) -> None:
    """The template's literal special tokens must be single tokens of this tokenizer."""
    from ru_llm.core.conversation import conversation

    probe = conversation("probe", [("system", "s"), ("user", "u"), ("assistant", "a")])
    try:
        text = "".join(s.text for s in template.render(probe))
    except RuLLMError:  # a template without system messages
        text = "".join(s.text for s in template.render(conversation("probe", [("user", "u"), ("assistant", "a")])))
    for token in sorted(set(_TEMPLATE_SPECIAL.findall(text))):
        if len(tokenizer(token, add_special_tokens=False)["input_ids"]) != 1:
            raise ConfigError(
                f"template {template.name!r} writes {token!r}, which this tokenizer does not know as one token",
                hint="pick the template made for this model (`ru-llm models` shows each family's default)",
            )


# -- output directory --------------------------------------------------------------------------------
def last_checkpoint(out: Path) -> Path | None:
    """The newest complete checkpoint of ``out`` (see ``ru_llm.train.checkpoints``)."""
    complete, _ = scan_checkpoints(out)
    return complete[-1] if complete else None


def prepare_output_dir(
    out: Path,
    tree: dict[str, Any],
    *,
    overwrite: bool,
    inputs: list[Path],
    say: Callable[[str], object] = lambda _: None,
    dry_run: bool = False,
) -> Path | None:
    """Decide between a fresh run and a resume; return the checkpoint to resume from.

    Incomplete checkpoints (a save cut short) are skipped, named through ``say`` and removed. A folder
    that holds no progress yet (the earlier attempt stopped before its first checkpoint) starts again,
    whatever config it was made with. ``dry_run``: only the refusals, nothing changed or said.
    """
    refuse_inputs_inside(out, inputs, flag="output_dir")
    if overwrite:
        check_output_dir(out, overwrite=True, flag="output_dir")  # only a directory the toolkit made
        if not dry_run:
            empty_directory(out)
        return None
    if not holds_files(out):
        return None
    previous = out / CONFIG_FILE
    if not previous.is_file():
        check_output_dir(out, overwrite=False, inputs=inputs, flag="output_dir")  # raises: not ours
    old = _previous_tree(previous)
    complete, skipped = scan_checkpoints(out)
    if is_finished(out):
        if _comparable(old) != _comparable(tree):
            raise _different_config(out, old, tree)
        problem = finished_problem(out)
        raise RuLLMError(
            f"{out}: this run has finished already" + (f", but {problem}" if problem else ""),
            hint="pass --overwrite to train again",
        )
    if not complete:
        if not dry_run:
            for item in skipped:
                say(f"skipping the incomplete checkpoint {item.path.name} ({item.reason}); removing it")
            remove_incomplete(skipped)
            clear_staging(out)
            if old is not None and _comparable(old) != _comparable(tree):
                say(f"{out}: the earlier attempt stopped before its first checkpoint; starting again with this config")
                empty_directory(out)
        return None
    if _comparable(old) != _comparable(tree):
        raise _different_config(out, old, tree)
    if tree.get("resume") != "auto":
        raise RuLLMError(f"{out}: holds checkpoints and resume is 'never'", hint="pass --overwrite or resume=auto")
    if not dry_run:
        for item in skipped:
            say(f"skipping the incomplete checkpoint {item.path.name} ({item.reason}); removing it")
        remove_incomplete(skipped)
        clear_staging(out)
    return complete[-1]


def _previous_tree(path: Path) -> dict[str, Any] | None:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # cut short or damaged: nothing to compare with


def _different_config(out: Path, old: dict[str, Any] | None, tree: dict[str, Any]) -> RuLLMError:
    old = old or {}
    changed = sorted(k for k in set(old) | set(tree) if old.get(k) != tree.get(k) and k != "resume")
    return RuLLMError(
        f"{out}: holds a run of a different config (differs in {', '.join(changed[:5]) or 'its saved config'})",
        hint="pass --overwrite to start again there, or choose another output_dir",
    )


def empty_directory(out: Path) -> None:
    """Remove everything in ``out`` (a directory the toolkit made) but keep ``out`` itself, which may be
    a symbolic link to a directory on another disk."""
    if not out.is_dir():
        return
    for child in out.iterdir():
        if child.name == LOCK:
            continue  # this run's own
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _comparable(tree: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if tree is None else {k: v for k, v in tree.items() if k != "resume"}


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
    from ru_llm.train.registry import get_strategy

    console = console or Console(stderr=True)
    is_main = int(os.environ.get("RANK", "0")) == 0
    if not is_main:
        console.quiet = True  # under torchrun rank 0 reports; the others would repeat every table and line
    strategy = get_strategy(config.strategy)
    tree = resolved_tree(config)
    out = Path(config.output_dir).expanduser()
    check_inputs_early(config, tree, out, overwrite=overwrite, check_output=is_main)
    strategy.check(config)
    check_device(config)
    model_config = load_model_config(config)
    family = model_family_for(model_config)
    check_context(config, model_config)
    tokenizer = load_run_tokenizer(config, family)
    if config.packing and strategy.data_kind == "conversations":
        from ru_llm.train.packing_support import check_packing_support

        check_packing_support(config, model_config)

    from ru_llm.train.preflight import check_strategy_on_skeleton, check_trainer_arguments

    check_strategy_on_skeleton(config, strategy, family, model_config)
    rejects: list[Reject] = []
    from ru_llm.train.datasets import prepare_datasets

    prepared = prepare_datasets(config, strategy, family, tokenizer, rejects.append, console=console)
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
            finish_outputs(config, prepared.sources, prepared.description, prepared.template_name, tree, result)
            result.files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        return result


def finish_outputs(
    config: RunConfig,
    sources: list[DataSource],
    description: str,
    template_name: str,
    tree: dict[str, Any],
    result: TrainResult,
) -> None:
    """Loss curve, training report and model card beside the staged weights, then all of it published
    into the output directory (the card last, then the record that marks the run finished)."""
    from ru_llm.train.outputs import card_config, model_card, plot_losses, read_metrics, settings_in_use
    from ru_llm.train.registry import get_strategy

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
    card = model_card(
        base_model=config.model,
        strategy=_strategy_label(config),
        adapter=adapter,
        sources=sources,
        data=description,
        resolved_yaml=dump_yaml(card_config(tree, settings_in_use(config, get_strategy(config.strategy).data_kind))),
        report=report,
        template=template_name,
    )
    (staged / "README.md").write_text(card, encoding="utf-8")
    publish_final(staged, out, steps=result.steps)


def _strategy_label(config: RunConfig) -> str:
    """The strategy as the model card names it (a preference run: with its loss and method)."""
    if config.strategy == "dpo":
        return f"dpo (loss: {', '.join(config.dpo.losses)}; {config.dpo.method})"
    return config.strategy
