"""``dpo``: preference tuning (T-Lite/T-Pro's last stage) with TRL's ``DPOTrainer``.

The pairs are tokenized by our templates (``ru_llm.dataset.templates.preference``), so the prompt and
the replies are exactly what supervised training and serving see; TRL gets finished
``prompt_ids``/``chosen_ids``/``rejected_ids`` and computes the loss (sigmoid DPO, IPO, robust, ... as
``dpo.loss`` names it), the reference log-probabilities (optionally once, before training) and the
reward metrics that ``metrics.jsonl`` records. The reference-free losses (SimPO, CPO, ORPO) run on
TRL's experimental CPO/ORPO trainers instead (``reference_free.py``). What is trained and how it is
saved is the ``lora`` or ``full`` strategy's (``dpo.method``), with their settings (``lora:``, ``full:``).

Why TRL rather than our own loss: its losses, reference handling (a PEFT model's adapters switched
off, ZeRO-3 reference engines, precomputation) and metrics are maintained against the papers; our
part is the data and the run around it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from ru_llm.core.errors import ConfigError
from ru_llm.train.config import RunConfig
from ru_llm.train.strategies.on_base import OnLoraOrFull
from ru_llm.train.strategies.reference_free import reference_free_arguments, reference_free_parts
from ru_llm.train.strategy import TrainerParts


def require_trl(purpose: str = "strategy: dpo") -> Any:
    from ru_llm.core.deps import require

    return require("trl", purpose=purpose, package="ru-llm-train", extra="dpo")


class PreferenceTuning(OnLoraOrFull):
    name = "dpo"
    description = "preference tuning on chosen/rejected pairs with TRL's DPOTrainer (dpo.loss, dpo.beta), LoRA or full"
    data_kind: Literal["conversations", "text", "preferences"] = "preferences"

    def base_name(self, config: RunConfig) -> str:
        return config.dpo.method

    def check(self, config: RunConfig) -> None:
        import warnings

        require_trl()
        # TRL 1.x and peft ask the model for the old name of a transformers 5 property
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.* is deprecated", category=FutureWarning)
        if config.packing:
            raise ConfigError(
                "packing is not available with strategy: dpo (each pair is two padded sequences)",
                hint="set packing: false",
            )
        if config.train_on != "assistant":
            raise ConfigError("strategy: dpo trains on the replies only; train_on must be assistant")
        self._base(config).check(config)

    def trainer_arguments(self, config: RunConfig, output_dir: Path) -> dict[str, Any]:
        dpo = config.dpo
        base = self._base(config).trainer_arguments(config, output_dir)
        if dpo.reference_free:
            return {**base, **reference_free_arguments(config)}
        return {
            **base,
            "beta": dpo.beta,
            "loss_type": dpo.losses,
            "loss_weights": dpo.loss_weights,
            "label_smoothing": dpo.label_smoothing,
            "precompute_ref_log_probs": dpo.precompute_reference,
            "max_length": config.max_length,  # the pairs are cut to it already; TRL's collator then cuts nothing
            "disable_dropout": True,  # the policy and reference log-probabilities must be comparable
            "label_names": [],  # DPOTrainer has no labels column; it builds its own from the completion mask
        }

    def trainer_parts(self, config: RunConfig, tokenizer: Any, counter: Any, load_reference: Any) -> TrainerParts:
        if config.dpo.reference_free:
            return reference_free_parts(config, tokenizer, counter)
        trl = require_trl()
        from ru_llm.train.data.preference import counting_preference_collator

        class PreferenceTrainer(trl.DPOTrainer):
            # The datasets hold finished token ids from our templates; TRL's own tokenization (which
            # applies the tokenizer's chat template to text fields) must not run on them.
            def _prepare_dataset(self, dataset: Any, processing_class: Any, args: Any, dataset_name: str) -> Any:
                return dataset

        options: dict[str, Any] = {
            "processing_class": tokenizer,
            "data_collator": counting_preference_collator(tokenizer.pad_token_id, counter),
        }
        if config.dpo.reference is not None:
            options["ref_model"] = load_reference(config.dpo.reference)
        elif config.dpo.method == "full" and not config.dpo.precompute_reference:
            # a second copy of the starting model, loaded as ours is (dtype, attention, remote code)
            options["ref_model"] = load_reference(config.model)
        return TrainerParts(trainer_class=PreferenceTrainer, arguments_class=trl.DPOConfig, options=options)
