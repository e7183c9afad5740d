"""ru-llm-tokenize: Russian vocabulary learning, vocabulary extension, embedding initialisation."""

from ru_llm.core.plugins import add_package
from ru_llm.tokenize.registry import embedding_initializers, tokenizer_trainers

add_package(
    "ru-llm-tokenize",
    hookspecs="ru_llm.tokenize.hookspecs",
    builtins=("ru_llm.tokenize.builtin_trainers", "ru_llm.tokenize.builtin_initializers"),
)

__all__ = ["embedding_initializers", "tokenizer_trainers"]
