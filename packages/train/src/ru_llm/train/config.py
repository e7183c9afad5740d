"""The run config: one validated dataclass tree per ``ru-llm train run`` (preset + file + overrides).

Field help (``metadata["help"]``) is written once and feeds error messages, ``train presets`` and
the docs. Strategy settings nest under the strategy's name (``lora: {r: 16}``).
"""

# ruff: noqa: RUF009  (_help returns a dataclasses.field, which ruff cannot see)
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ru_llm.core.errors import ConfigError


def _help(text: str, **kwargs: Any) -> Any:
    return field(metadata={"help": text}, **kwargs)


@dataclass
class OptimizerConfig:
    lr: float = _help("peak learning rate", default=2e-5)
    betas: tuple[float, ...] = _help("AdamW betas (beta1, beta2)", default=(0.9, 0.999))
    weight_decay: float = _help("AdamW weight decay", default=0.0)
    eps: float = _help("AdamW epsilon", default=1e-8)
    scheduler: str = _help("transformers lr scheduler name (cosine, linear, constant, ...)", default="cosine")
    warmup_ratio: float = _help("share of the steps spent warming the lr up", default=0.0)
    warmup_steps: int = _help("warm-up steps (wins over warmup_ratio when > 0)", default=0)
    max_grad_norm: float = _help("gradient clipping norm", default=1.0)

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ConfigError(f"'optimizer.lr' must be positive, got {self.lr}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"'optimizer.betas' must be two numbers in [0, 1), got {list(self.betas)}")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"'optimizer.warmup_ratio' must be in [0, 1), got {self.warmup_ratio}")
        if self.warmup_steps < 0:
            raise ConfigError(f"'optimizer.warmup_steps' must be 0 or more, got {self.warmup_steps}")
        if self.max_grad_norm < 0:
            raise ConfigError(
                f"'optimizer.max_grad_norm' must be 0 or more, got {self.max_grad_norm}", hint="0 turns clipping off"
            )
        if self.weight_decay < 0:
            raise ConfigError(f"'optimizer.weight_decay' must be 0 or more, got {self.weight_decay}")
        if self.eps <= 0:
            raise ConfigError(f"'optimizer.eps' must be positive, got {self.eps}")


@dataclass
class LoraSettings:
    r: int = _help("LoRA rank", default=16)
    alpha: int = _help("LoRA alpha (scaling = alpha / r)", default=16)
    dropout: float = _help("dropout on the LoRA input", default=0.05)
    target_modules: list[str] | None = _help("module names to adapt; default: the model family's", default=None)
    modules_to_save: list[str] | None = _help("modules trained fully and saved with the adapter", default=None)
    quantization: Literal["none", "int8", "nf4"] = _help(
        "load the base in 8-bit or 4-bit NF4 (bitsandbytes) for QLoRA-style training", default="none"
    )
    bias: Literal["none", "all", "lora_only"] = _help("which biases to train", default="none")
    layers: list[int] | None = _help(
        "adapt only these decoder layers (0 first, -1 last; default: all), e.g. [0, -1] for calibration",
        default=None,
    )
    train_embeddings: bool = _help(
        "also train the input embeddings and lm_head fully (Ruadapt stage 2; their lr: embeddings.lr)", default=False
    )

    def __post_init__(self) -> None:
        if self.r < 1:
            raise ConfigError(f"'lora.r' must be at least 1, got {self.r}")
        if self.alpha < 1:
            raise ConfigError(f"'lora.alpha' must be at least 1, got {self.alpha}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"'lora.dropout' must be in [0, 1), got {self.dropout}")


@dataclass
class EmbeddingSettings:
    train: Literal["all", "new"] = _help(
        "train every embedding row, or only the rows from first_new_row on (Ruadapt's new tokens)", default="all"
    )
    first_new_row: int | None = _help(
        "the first new token id (the old vocabulary size `ru-llm tokenize resize-model` reports)", default=None
    )
    lr: float | None = _help("learning rate of the embedding matrices (default: optimizer.lr)", default=None)

    def __post_init__(self) -> None:
        if self.train == "new" and (self.first_new_row is None or self.first_new_row < 1):
            raise ConfigError("'embeddings.train: new' needs embeddings.first_new_row, the first new token id")
        if self.lr is not None and self.lr <= 0:
            raise ConfigError(f"'embeddings.lr' must be positive, got {self.lr}")


@dataclass
class FullSettings:
    deepspeed: str | None = _help(
        "zero2, zero3, or a path to a DeepSpeed JSON config (needs ru-llm-train[deepspeed])", default=None
    )
    offload: bool = _help("ZeRO: offload optimizer state and parameters to CPU memory", default=False)


@dataclass
class CorpusConfig:
    path: str = _help("a text/JSONL/Parquet file, a directory of them, or hf:DATASET[?split=..&column=..]")
    weight: float = _help("share of the mixture (normalised over corpora)", default=1.0)
    column: str = _help("the text column of JSONL/Parquet/HF rows", default="text")
    name: str | None = _help("label for logs and the model card (default: the file name)", default=None)
    license: str | None = _help("the corpus's licence, for the model card", default=None)
    commercial: bool | None = _help(
        "true only if you know the corpus is cleared for commercial use; --commercial trains only on such corpora",
        default=None,
    )

    def __post_init__(self) -> None:
        if self.weight <= 0:
            raise ConfigError(f"a corpus weight must be positive, got {self.weight} for {self.path!r}")


@dataclass
class CptSettings:
    corpora: list[CorpusConfig] = _help("raw-text corpora to mix (Russian plus English replay)", default_factory=list)
    base: Literal["full", "lora"] = _help("train every parameter, or LoRA adapters", default="full")
    max_documents: int | None = _help("stop reading after this many documents (all corpora together)", default=None)


# The loss names of TRL's DPOTrainer (1.x `DPOConfig.loss_type`); a test checks them against the installed TRL.
DPO_LOSSES = (
    "sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot", "aot_unpaired",
    "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm",
)  # fmt: skip
# Reference-free preference losses, trained with TRL's experimental CPO/ORPO trainers (no reference model).
DPO_REFERENCE_FREE = ("simpo", "cpo", "orpo")
# Losses users ask for by name that need another kind of data.
DPO_ELSEWHERE = {"kto": "KTO learns from unpaired good/bad replies (trl.experimental.kto), not from pairs"}


@dataclass
class DpoSettings:
    method: Literal["lora", "full"] = _help(
        "train LoRA adapters (settings under lora:) or every parameter (settings under full:)", default="lora"
    )
    loss: str | list[str] = _help(
        "sigmoid (DPO), ipo, hinge, robust, apo_zero, ... (TRL DPOTrainer; a list mixes them, see loss_weights), "
        "or one reference-free loss: simpo, cpo, orpo",
        default="sigmoid",
    )
    loss_weights: list[float] | None = _help("weights of the losses in a loss list (default: 1 each)", default=None)
    beta: float = _help("DPO beta: higher keeps the model closer to the reference", default=0.1)
    label_smoothing: float = _help("robust DPO: assumed share of flipped labels; exo_pair: epsilon", default=0.0)
    reference: str | None = _help(
        "reference model (directory or hub id); default: the starting model (LoRA: the base with adapters off)",
        default=None,
    )
    precompute_reference: bool = _help(
        "compute the reference log-probabilities once before training, so no reference model stays in memory",
        default=False,
    )
    max_prompt_length: int | None = _help("refuse pairs whose prompt is longer than this many tokens", default=None)
    simpo_gamma: float | None = _help("simpo: the target reward margin gamma (default 0.5, TRL's)", default=None)
    cpo_alpha: float | None = _help(
        "simpo / cpo: weight of the NLL term on the chosen reply (default: 0 for simpo, 1 for cpo)", default=None
    )

    def __post_init__(self) -> None:
        losses = self.losses
        known = ", ".join((*DPO_LOSSES, *DPO_REFERENCE_FREE))
        if not losses:
            raise ConfigError("'dpo.loss' is empty", hint=f"use one of {known}")
        for loss in losses:
            if loss in DPO_ELSEWHERE:
                raise ConfigError(f"'dpo.loss: {loss}' is not a pairwise loss: {DPO_ELSEWHERE[loss]}")
            if loss not in DPO_LOSSES and loss not in DPO_REFERENCE_FREE:
                raise ConfigError(f"'dpo.loss' {loss!r} is unknown", hint=f"use one of {known}")
        if self.reference_free:
            if len(losses) > 1:
                raise ConfigError(
                    f"'dpo.loss: {losses}' mixes a reference-free loss with others",
                    hint="simpo, cpo and orpo stand alone; lists combine DPOTrainer losses only",
                )
            if self.reference is not None or self.precompute_reference:
                raise ConfigError(
                    f"'dpo.loss: {losses[0]}' uses no reference model; drop dpo.reference and dpo.precompute_reference"
                )
        # settings the chosen loss does not read: an error, not a silent no-op
        unused = []
        if self.loss_weights is not None and self.reference_free:
            unused.append("loss_weights")
        if self.simpo_gamma is not None and losses != ["simpo"]:
            unused.append("simpo_gamma")
        if self.cpo_alpha is not None and losses not in (["simpo"], ["cpo"]):
            unused.append("cpo_alpha")
        if self.label_smoothing and losses == ["orpo"]:
            unused.append("label_smoothing")
        if unused:
            raise ConfigError(
                f"'dpo.{unused[0]}' has no effect with dpo.loss: {self.loss}",
                hint="remove it, or pick the loss that uses it (docs/training.md, the dpo.* keys)",
            )
        if self.loss_weights is not None and len(self.loss_weights) != len(losses):
            raise ConfigError(
                f"'dpo.loss_weights' has {len(self.loss_weights)} weights for {len(losses)} losses",
                hint="give one weight per loss, in the same order",
            )
        if self.beta <= 0:
            raise ConfigError(f"'dpo.beta' must be positive, got {self.beta}")
        if not 0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"'dpo.label_smoothing' must be in [0, 0.5), got {self.label_smoothing}")
        if "exo_pair" in losses and self.label_smoothing == 0:
            raise ConfigError("'dpo.loss: exo_pair' needs dpo.label_smoothing > 0", hint="the EXO paper uses 1e-3")
        if self.max_prompt_length is not None and self.max_prompt_length < 1:
            raise ConfigError(f"'dpo.max_prompt_length' must be at least 1, got {self.max_prompt_length}")

    @property
    def losses(self) -> list[str]:
        return [self.loss] if isinstance(self.loss, str) else list(self.loss)

    @property
    def reference_free(self) -> bool:
        """SimPO, CPO or ORPO: trained without a reference model."""
        return any(loss in DPO_REFERENCE_FREE for loss in self.losses)


@dataclass
class RunConfig:
    """Everything one training run needs; ``config.resolved.yaml`` in the output directory is this tree."""

    strategy: str = _help(
        "trainer strategy: full, lora, cpt, embeddings, dpo (see `ru-llm train presets` / `ru-llm plugins`)"
    )
    model: str = _help("base model: a local directory or a Hugging Face hub id")
    output_dir: str = _help("where checkpoints, the model or adapter, metrics and the card go")
    data: str | None = _help(
        "a `ru-llm dataset build` directory, a conversation JSONL, a Parquet/Arrow file or an HF dataset id",
        default=None,
    )
    preset: str | None = _help("a shipped preset this config extends (`ru-llm train presets`)", default=None)
    template: str | None = _help("chat template name; default: the model family's", default=None)
    validation_data: str | None = _help(
        "a conversation JSONL for validation (default: the build's split)", default=None
    )
    max_length: int = _help("context length in tokens", default=2048)
    train_on: Literal["assistant", "all"] = _help(
        "loss on assistant replies and their end-of-turn token only, or on the whole text", default="assistant"
    )
    packing: bool = _help("pack several samples per sequence (no attention across them)", default=False)
    epochs: float = _help("passes over the data (ignored when max_steps > 0)", default=1.0)
    max_steps: int = _help("stop after this many optimizer steps (-1: use epochs)", default=-1)
    batch_size: int = _help("sequences per device per step", default=1)
    grad_accum: int = _help("gradient accumulation steps", default=1)
    optimizer: OptimizerConfig = _help("AdamW settings", default_factory=OptimizerConfig)
    seed: int = _help("seed for data order, dropout and initialisation", default=42)
    precision: Literal["auto", "bf16", "fp16", "fp32"] = _help(
        "auto: bf16 where the hardware has it, else fp32", default="auto"
    )
    gradient_checkpointing: bool = _help("recompute activations to save memory", default=False)
    eval_steps: int = _help("evaluate the validation split every N steps (0: at the end only)", default=0)
    save_steps: int = _help("save a checkpoint every N steps (0: only at the end)", default=0)
    save_total_limit: int | None = _help("keep at most this many checkpoints", default=2)
    logging_steps: int = _help("log every N steps", default=1)
    report_to: list[str] = _help("tensorboard, wandb, or none", default_factory=lambda: ["none"])
    resume: Literal["auto", "never"] = _help("continue from the last checkpoint in output_dir", default="auto")
    commercial: bool = _help("refuse to train when a data source is not cleared for commercial use", default=False)
    max_samples: int | None = _help("use at most this many training conversations", default=None)
    device: str = _help("auto, cpu, cuda or mps (pick GPUs with CUDA_VISIBLE_DEVICES)", default="auto")
    attn_implementation: str | None = _help(
        "sdpa, eager, flash_attention_2 (default: transformers' choice)", default=None
    )
    trust_remote_code: bool = _help("run code shipped with the model (only for models you trust)", default=False)
    lora: LoraSettings = _help("settings of the lora strategy", default_factory=LoraSettings)
    full: FullSettings = _help("settings of the full strategy", default_factory=FullSettings)
    cpt: CptSettings = _help("settings of the cpt strategy", default_factory=CptSettings)
    dpo: DpoSettings = _help("settings of the dpo (preference tuning) strategy", default_factory=DpoSettings)
    embeddings: EmbeddingSettings = _help(
        "settings of the embeddings strategy (and lora.train_embeddings)", default_factory=EmbeddingSettings
    )
    extra: dict[str, Any] = _help("settings of third-party strategies, by strategy name", default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("max_length", "batch_size", "grad_accum", "logging_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name!r} must be at least 1, got {getattr(self, name)}")
        for name in ("eval_steps", "save_steps"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name!r} must be 0 or more, got {getattr(self, name)}")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ConfigError(f"'max_steps' must be positive, or -1 to train for 'epochs', got {self.max_steps}")
        if self.max_steps == -1 and self.epochs <= 0:
            raise ConfigError(f"'epochs' must be positive, got {self.epochs}")
        if self.max_samples is not None and self.max_samples < 1:
            raise ConfigError(f"'max_samples' must be at least 1, got {self.max_samples}")
        if self.save_total_limit is not None and self.save_total_limit < 1:
            raise ConfigError(
                f"'save_total_limit' must be at least 1, got {self.save_total_limit}",
                hint="leave it unset (null) to keep every checkpoint",
            )
        bad = [r for r in self.report_to if r not in ("none", "tensorboard", "wandb")]
        if bad:
            raise ConfigError(f"'report_to' must list tensorboard, wandb or none, got {bad[0]!r}")
