"""The run config: one validated dataclass tree per ``ru-llm train run`` (preset + file + overrides).

Field help (``metadata["help"]``) is written once and feeds error messages, ``train presets`` and
the docs. Strategy settings nest under the strategy's name (``lora: {r: 16}``).
"""

# ruff: noqa: RUF009  (_help returns a dataclasses.field, which ruff cannot see)
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ru_llm.core.errors import ConfigError
from ru_llm.train.fields import help_field as _help
from ru_llm.train.settings.cpt import CorpusConfig, CptSettings
from ru_llm.train.settings.dpo import DPO_LOSSES, DpoSettings
from ru_llm.train.settings.embeddings import EmbeddingSettings
from ru_llm.train.settings.full import FullSettings
from ru_llm.train.settings.lora import LoraSettings


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
    liger_kernel: bool = _help(
        "Liger's fused Triton kernels (RMSNorm, RoPE, SwiGLU, fused linear cross-entropy) on a CUDA GPU, for the "
        "model types Liger supports (LLaMA, Mistral, Qwen2, Gemma, ...); needs ru-llm-train[liger]",
        default=False,
    )
    trust_remote_code: bool = _help("run code shipped with the model (only for models you trust)", default=False)
    lora: LoraSettings = _help("settings of the lora strategy", default_factory=LoraSettings)
    full: FullSettings = _help("settings of the full strategy", default_factory=FullSettings)
    cpt: CptSettings = _help("settings of the cpt strategy", default_factory=CptSettings)
    dpo: DpoSettings = _help("settings of the dpo (preference tuning) strategy", default_factory=DpoSettings)
    embeddings: EmbeddingSettings = _help(
        "settings of the embeddings strategy (and lora.train_embeddings)", default_factory=EmbeddingSettings
    )
    plugin_settings: dict[str, Any] = _help(
        "the settings blocks of third-party strategies, by strategy name: each an instance of the strategy's "
        "settings_class, written at the top level of a config file as NAME: {...}",
        default_factory=dict,
    )

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

    def settings_for(self, name: str) -> Any:
        """The settings block ``name``: a built-in strategy's field (``lora``, ``dpo``, ...) or a plugin's."""
        if name in BUILTIN_BLOCKS:
            return getattr(self, name)
        if name not in self.plugin_settings:
            raise ConfigError(
                f"the run config has no settings block {name!r}",
                hint="a strategy's block is filled from its settings_class when the config is read "
                "(ru_llm.train.configfile.resolve_config); build RunConfig(plugin_settings={...}) by hand otherwise",
            )
        return self.plugin_settings[name]


#: the settings blocks that are fields of :class:`RunConfig` (the built-in strategies')
BUILTIN_BLOCKS = ("lora", "full", "cpt", "dpo", "embeddings")

__all__ = [
    "BUILTIN_BLOCKS", "DPO_LOSSES", "CorpusConfig", "CptSettings", "DpoSettings", "EmbeddingSettings", "FullSettings",
    "LoraSettings", "OptimizerConfig", "RunConfig",
]  # fmt: skip
