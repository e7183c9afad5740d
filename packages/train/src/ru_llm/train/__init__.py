"""ru-llm-train: trainer strategies (full, LoRA, embeddings, LEP), collation, packing, configs."""

from ru_llm.core.plugins import add_package
from ru_llm.train.registry import trainer_strategies

add_package("ru-llm-train", hookspecs="ru_llm.train.hookspecs")

__all__ = ["trainer_strategies"]
