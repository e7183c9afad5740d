"""The trainer-strategy contract: what ``register_trainer_strategies`` expects.

A strategy decides what is trained and how the result is saved; the run (``ru_llm.train.run``) does
everything else (config, data, the transformers Trainer, logging, the model card). In the spirit of
torchtune's recipe protocol, the interface is not a vehicle for code reuse: each built-in is one
readable module under ``strategies/``.
"""

from __future__ import annotations

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
    #: ``"conversations"``: chat data through a template; ``"text"``: raw-text corpora (``cpt``)
    data_kind: Literal["conversations", "text"]

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
