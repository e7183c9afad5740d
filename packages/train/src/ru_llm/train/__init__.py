"""ru-llm-train: trainer strategies (full, LoRA, continued pre-training), data to tensors, runs, merging.

Importing it is cheap: torch and transformers are imported by the code that trains.
"""

from ru_llm.core.plugins import add_package
from ru_llm.train.registry import data_pipelines, get_pipeline, get_strategy, trainer_strategies

add_package(
    "ru-llm-train", hookspecs="ru_llm.train.hookspecs", builtins=("ru_llm.train.strategies", "ru_llm.train.pipelines")
)

__all__ = ["data_pipelines", "get_pipeline", "get_strategy", "trainer_strategies"]
