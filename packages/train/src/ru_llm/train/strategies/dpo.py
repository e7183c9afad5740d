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

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.core.families import ModelFamily
from ru_llm.train.config import RunConfig
from ru_llm.train.settings.dpo import DpoSettings
from ru_llm.train.strategies.on_base import TrainedAs
from ru_llm.train.strategies.reference_free import reference_free_arguments, reference_free_parts
from ru_llm.train.strategies.trl_required import require_trl
from ru_llm.train.strategy import StrategyDefaults, TrainerParts


def check_reference(config: RunConfig) -> None:
    """``dpo.reference`` must exist and score the same token ids as the model: same vocabulary."""
    from pathlib import Path

    from transformers import AutoConfig, AutoTokenizer

    reference = config.dpo.reference
    assert reference is not None
    path = Path(reference).expanduser()
    if reference.startswith(("/", "./", "../", "~")) and not path.exists():
        raise ConfigError(f"dpo.reference: {reference}: no such directory", hint="give a model directory or hub id")

    def load(loader: Any, name: str) -> Any:
        try:
            return loader.from_pretrained(name, trust_remote_code=config.trust_remote_code)
        except (OSError, ValueError, TypeError):
            return None

    ours, theirs = load(AutoConfig, config.model), load(AutoConfig, reference)
    if theirs is None:
        raise ConfigError(f"dpo.reference: cannot load {reference!r}", hint="offline? give a local model directory")
    rows = [getattr(c, "vocab_size", None) for c in (ours, theirs)] if ours is not None else [None, None]
    if None not in rows and rows[0] != rows[1]:
        raise ConfigError(
            f"dpo.reference: {reference} has {rows[1]} embedding rows, the model {rows[0]}",
            hint="the reference must share the model's tokenizer (usually: the SFT model the run starts from)",
        )
    our_tokens, their_tokens = load(AutoTokenizer, config.model), load(AutoTokenizer, reference)
    if our_tokens is not None and their_tokens is not None and our_tokens.get_vocab() != their_tokens.get_vocab():
        raise ConfigError(
            f"dpo.reference: {reference} has another tokenizer than the model",
            hint="the reference must score the same token ids (usually: the SFT model the run starts from)",
        )


class PreferenceTuning(StrategyDefaults):
    name = "dpo"
    description = "preference tuning on chosen/rejected pairs with TRL's DPOTrainer (dpo.loss, dpo.beta), LoRA or full"
    data_kind = "preferences"
    settings_class = DpoSettings
    trained = TrainedAs(lambda config: config.dpo.method)

    def reference_models(self, config: RunConfig) -> dict[str, str]:
        return {"dpo.reference": config.dpo.reference} if config.dpo.reference is not None else {}

    def settings_shown(self, config: RunConfig) -> set[str]:
        return {"dpo"} | self.trained(config).settings_shown(config)

    def card_label(self, config: RunConfig) -> str:
        return f"dpo (loss: {', '.join(config.dpo.losses)}; {config.dpo.method})"

    # what is trained, and how it loads and saves: the lora or full strategy's (dpo.method)
    def model_options(self, config: RunConfig) -> dict[str, Any]:
        return self.trained(config).model_options(config)

    def frozen_base(self, config: RunConfig) -> bool:
        return self.trained(config).frozen_base(config)

    def prepare(self, model: Any, config: RunConfig, family: ModelFamily) -> Any:
        return self.trained(config).prepare(model, config, family)

    def parameter_groups(self, model: Any, config: RunConfig) -> list[dict[str, Any]] | None:
        return self.trained(config).parameter_groups(model, config)

    def save(self, trainer: Any, output_dir: Path) -> None:
        self.trained.save(trainer, output_dir)

    def check(self, config: RunConfig) -> None:
        require_trl()
        if config.packing:
            raise ConfigError(
                "packing is not available with strategy: dpo (each pair is two padded sequences)",
                hint="set packing: false",
            )
        if config.train_on != "assistant":
            raise ConfigError("strategy: dpo trains on the replies only; train_on must be assistant")
        if config.dpo.reference is not None:
            check_reference(config)
        self.trained(config).check(config)

    def trainer_arguments(self, config: RunConfig, output_dir: Path) -> dict[str, Any]:
        dpo = config.dpo
        base = self.trained(config).trainer_arguments(config, output_dir)
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

    def trainer_parts(
        self, config: RunConfig, tokenizer: Any, counter: Any, load_reference: Callable[[str], Any]
    ) -> TrainerParts:
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
