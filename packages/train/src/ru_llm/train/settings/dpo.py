"""The ``dpo:`` block: settings of the ``dpo`` strategy (preference tuning), checked on construction."""

# ruff: noqa: RUF009  (help_field returns a dataclasses.field, which ruff cannot see)
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ru_llm.core.errors import ConfigError
from ru_llm.train.fields import help_field as _help

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
