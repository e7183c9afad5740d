"""Built-in new-embedding initialisers, registered through the same hook a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookimpl
from ru_llm.tokenize.embeddings import BUILTIN_INITIALIZERS


@hookimpl
def register_embedding_initializers(register: Callable[..., object]) -> None:
    for initializer in BUILTIN_INITIALIZERS:
        register(initializer)
