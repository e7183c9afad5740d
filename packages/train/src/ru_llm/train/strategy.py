"""The trainer-strategy contract: what ``register_trainer_strategies`` expects.

A strategy decides what is trained and how the result is saved; the run (``ru_llm.train.run``) does
everything else (config, data, the transformers Trainer, logging, the model card). In the spirit of
torchtune's recipe protocol, the interface is not a vehicle for code reuse: each built-in is one
readable module under ``strategies/``; :class:`StrategyDefaults` holds only the usual answers to the
members most strategies do not change, and a strategy that builds on another holds it (composition).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ru_llm.core.families import ModelFamily
    from ru_llm.train.config import RunConfig


@runtime_checkable
class TrainerStrategy(Protocol):
    """One way of training a model (full, LoRA, continued pre-training, ...).

    Every member is required; :class:`StrategyDefaults` supplies the usual answer for all but
    ``name``, ``description``, ``prepare``, ``trainer_arguments`` and ``save``, so a plugin may inherit
    from it and write only what differs. The run never asks a strategy anything that is not declared here.
    """

    name: str
    description: str
    #: the data pipeline it trains on (``ru_llm.train.pipelines``): ``"conversations"`` (chat data
    #: through a template), ``"text"`` (raw-text corpora, ``cpt``), ``"preferences"`` (chosen/rejected
    #: pairs, ``dpo``), or a kind a plugin registers with ``register_data_pipelines``
    data_kind: str
    #: the dataclass of the strategy's settings block (``NAME: {...}`` in a run config), or ``None``.
    #: The built-ins' blocks are fields of ``RunConfig``; a plugin's is read with ``config.settings_for(name)``
    settings_class: type | None

    def check(self, config: RunConfig) -> None:
        """Refuse a config this strategy cannot run (raise ``ConfigError``), before anything is loaded."""
        ...

    def model_options(self, config: RunConfig) -> dict[str, Any]:
        """Extra ``from_pretrained`` keyword arguments (e.g. a bitsandbytes ``quantization_config``)."""
        ...

    def frozen_base(self, config: RunConfig) -> bool:
        """Whether the loaded weights stay frozen (LoRA): the run then loads them in bf16 where the hardware
        has it, while trained parameters (adapters) stay fp32; otherwise the weights load in fp32."""
        ...

    def prepare(self, model: Any, config: RunConfig, family: ModelFamily) -> Any:
        """Make the loaded model trainable as this strategy wants; return the model to train."""
        ...

    def parameter_groups(self, model: Any, config: RunConfig) -> list[dict[str, Any]] | None:
        """AdamW parameter groups with their own options (e.g. ``lr``), or ``None`` for one group of all
        trainable parameters."""
        ...

    def trainer_arguments(self, config: RunConfig, output_dir: Path) -> dict[str, Any]:
        """``transformers.TrainingArguments`` values this strategy sets (e.g. ``deepspeed``)."""
        ...

    def trainer_parts(
        self, config: RunConfig, tokenizer: Any, counter: Any, load_reference: Callable[[str], Any]
    ) -> TrainerParts | None:
        """The trainer to build on (see :class:`TrainerParts`), or ``None`` for ``transformers.Trainer``."""
        ...

    def reference_models(self, config: RunConfig) -> dict[str, str]:
        """Other models the run loads, by config key (``{"dpo.reference": "..."}``): checked before anything
        loads, as ``model`` is, and named by that key when one cannot be loaded."""
        ...

    def settings_shown(self, config: RunConfig) -> set[str]:
        """The settings blocks this run reads (its own, a block it builds on): the model card shows these."""
        ...

    def card_label(self, config: RunConfig) -> str:
        """How the model card names the strategy (``dpo (loss: sigmoid; lora)``)."""
        ...

    def save(self, trainer: Any, output_dir: Path) -> None:
        """Write the trained model or adapter (safetensors) into ``output_dir``."""
        ...


class StrategyDefaults:
    """The usual answers to the optional questions of :class:`TrainerStrategy`: conversations, no
    settings block, nothing extra to load, fp32 weights, one parameter group, the plain Trainer."""

    name: str
    data_kind: str = "conversations"
    settings_class: type | None = None

    def check(self, config: RunConfig) -> None:
        return None

    def model_options(self, config: RunConfig) -> dict[str, Any]:
        return {}

    def frozen_base(self, config: RunConfig) -> bool:
        return False

    def parameter_groups(self, model: Any, config: RunConfig) -> list[dict[str, Any]] | None:
        return None

    def trainer_parts(
        self, config: RunConfig, tokenizer: Any, counter: Any, load_reference: Callable[[str], Any]
    ) -> TrainerParts | None:
        return None

    def reference_models(self, config: RunConfig) -> dict[str, str]:
        return {}

    def settings_shown(self, config: RunConfig) -> set[str]:
        return {self.name}

    def card_label(self, config: RunConfig) -> str:
        return self.name


#: members every strategy writes itself; the others have an answer in StrategyDefaults
REQUIRED_MEMBERS = ("name", "description", "prepare", "trainer_arguments", "save")
DEFAULTED_MEMBERS = (
    "data_kind", "settings_class", "check", "model_options", "frozen_base", "parameter_groups", "trainer_parts",
    "reference_models", "settings_shown", "card_label",
)  # fmt: skip


class CompletedStrategy(StrategyDefaults):
    """A strategy written against the contract as it was before every member was declared (no
    ``frozen_base``, ``settings_shown``, ...): its own members, :class:`StrategyDefaults`' answers for the rest.

    The registry builds one when a plugin registers such an object, so plugins written for 0.1 keep working
    (with a ``DeprecationWarning``); the run itself only ever sees complete strategies.
    """

    def __init__(self, strategy: Any, missing: tuple[str, ...]) -> None:
        self.strategy = strategy
        self.missing = missing
        # Read once, here: the strategy's own members shadow the defaults (instance attributes win over the
        # class's methods), so the run asks the plugin's object wherever it answers.
        for member in REQUIRED_MEMBERS + tuple(m for m in DEFAULTED_MEMBERS if m not in missing):
            setattr(self, member, getattr(strategy, member))

    def __repr__(self) -> str:
        return f"{self.strategy!r} (completed with StrategyDefaults: {', '.join(self.missing)})"


def complete_strategy(obj: Any, plugin: str | None) -> Any:
    """What the strategy registry stores for ``obj``: ``obj`` itself when it declares the whole contract (or
    is not a strategy at all: the registry then refuses it), else a :class:`CompletedStrategy`."""
    if isinstance(obj, type) or not all(hasattr(obj, m) for m in REQUIRED_MEMBERS):
        return obj
    missing = tuple(m for m in DEFAULTED_MEMBERS if not hasattr(obj, m))
    if not missing:
        return obj
    warnings.warn(
        f"trainer strategy {getattr(obj, 'name', obj)!r} from plugin {plugin or '?'} does not declare "
        f"{', '.join(missing)}: StrategyDefaults' answers are used; inherit "
        "ru_llm.train.strategy.StrategyDefaults (docs/plugins.md)",
        DeprecationWarning,
        stacklevel=2,
    )
    return CompletedStrategy(obj, missing)


@dataclass
class TrainerParts:
    """What a strategy with its own trainer hands the run (``trainer_parts``).

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
