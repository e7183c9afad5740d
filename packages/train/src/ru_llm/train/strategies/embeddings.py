"""``embeddings``: Ruadapt stage 1 — only the input embeddings and lm_head train (all rows, or only the new ones).

Typically on Russian raw text (``cpt.corpora``). Tied models train the one shared matrix. With
``embeddings.train: new`` the rows below ``embeddings.first_new_row`` keep their values exactly: their
gradient is masked, and weight decay (which would shrink them without a gradient) is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.core.families import ModelFamily
from ru_llm.train.config import RunConfig
from ru_llm.train.settings.embeddings import EmbeddingSettings
from ru_llm.train.strategy import StrategyDefaults


def embedding_matrices(model: Any) -> list[Any]:
    """The input embedding weight, and the output one when it is a separate matrix."""
    matrices = [model.get_input_embeddings().weight]
    output = model.get_output_embeddings()
    if output is not None and output.weight is not matrices[0]:
        matrices.append(output.weight)
    return matrices


def mask_rows_below(weight: Any, first: int) -> None:
    """Zero the gradient of rows ``< first`` so the old vocabulary's rows never change."""

    def hook(grad: Any) -> Any:
        grad = grad.clone()
        grad[:first] = 0
        return grad

    weight.register_hook(hook)


class EmbeddingsOnly(StrategyDefaults):
    name = "embeddings"
    description = "Ruadapt stage 1: train only input embeddings and lm_head (embeddings.train: all|new)"
    data_kind = "text"
    settings_class = EmbeddingSettings

    def settings_shown(self, config: RunConfig) -> set[str]:
        return {"embeddings", "full"} if config.full.deepspeed is not None else {"embeddings"}

    def check(self, config: RunConfig) -> None:
        if config.embeddings.train == "new" and config.optimizer.weight_decay:
            raise ConfigError(
                "embeddings.train: new needs optimizer.weight_decay 0 (decay would change the frozen old rows)"
            )
        from ru_llm.train.deepspeed import check_deepspeed

        check_deepspeed(config)

    def prepare(self, model: Any, config: RunConfig, family: ModelFamily) -> Any:
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        matrices = embedding_matrices(model)
        first = config.embeddings.first_new_row
        for weight in matrices:
            weight.requires_grad_(True)
            if config.embeddings.train == "new" and first is not None:
                if first >= weight.shape[0]:
                    raise ConfigError(
                        f"embeddings.first_new_row {first} is past the model's {weight.shape[0]} embedding rows"
                    )
                mask_rows_below(weight, first)
        return model

    def parameter_groups(self, model: Any, config: RunConfig) -> list[dict[str, Any]] | None:
        if config.embeddings.lr is None:
            return None
        return [{"params": embedding_matrices(model), "lr": config.embeddings.lr}]

    def trainer_arguments(self, config: RunConfig, output_dir: Path) -> dict[str, Any]:
        from ru_llm.train.deepspeed import deepspeed_arguments

        return deepspeed_arguments(config)

    def save(self, trainer: Any, output_dir: Path) -> None:
        trainer.save_model(str(output_dir))
