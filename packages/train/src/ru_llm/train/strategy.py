"""The trainer-strategy contract: what ``register_trainer_strategies`` expects.

A strategy decides what is trained and how the result is saved; the run (``ru_llm.train.run``) does
everything else (config, data, the transformers Trainer, logging, the model card). In the spirit of
torchtune's recipe protocol, the interface is not a vehicle for code reuse: each built-in is one
readable module under ``strategies/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ru_llm.core.families import ModelFamily
    from ru_llm.train.config import RunConfig


@runtime_checkable
class TrainerStrategy(Protocol):
    """One way of training a model (full, LoRA, continued pre-training, ...)."""

    name: str
    description: str
    #: ``"conversations"``: chat data through a template; ``"text"``: raw-text corpora (``cpt``);
    #: ``"preferences"``: chosen/rejected pairs through a template (``dpo``)
    data_kind: Literal["conversations", "text", "preferences"]

    def check(self, config: RunConfig) -> None:
        """Refuse a config this strategy cannot run (raise ``ConfigError``), before anything is loaded."""
        ...

    def model_options(self, config: RunConfig) -> dict[str, Any]:
        """Extra ``from_pretrained`` keyword arguments (e.g. a bitsandbytes ``quantization_config``)."""
        ...

    def prepare(self, model: Any, config: RunConfig, family: ModelFamily) -> Any:
        """Make the loaded model trainable as this strategy wants; return the model to train."""
        ...

    def trainer_arguments(self, config: RunConfig, output_dir: Path) -> dict[str, Any]:
        """``transformers.TrainingArguments`` values this strategy sets (e.g. ``deepspeed``)."""
        ...

    def save(self, trainer: Any, output_dir: Path) -> None:
        """Write the trained model or adapter (safetensors) into ``output_dir``."""
        ...


@dataclass
class TrainerParts:
    """What a strategy with its own trainer hands the run (the optional ``trainer_parts`` member).

    ``trainer_parts(config, tokenizer, counter, load_reference) -> TrainerParts``: the run still makes
    the model, the arguments (``trainer_arguments`` on top of the run's), the callbacks and the
    outputs; the strategy names the ``transformers.Trainer`` subclass to extend (TRL's ``DPOTrainer``
    for ``dpo``), its arguments class, and extra constructor keywords. ``counter`` is the run's token
    counter (a collator the strategy supplies should add the tokens it sees), ``load_reference(name)``
    loads another model the way the run loads its own.
    """

    trainer_class: type
    arguments_class: type
    options: dict[str, Any] = field(default_factory=dict)
