"""Built-in MT backends, registered through ``register_translators``.

Importing this module is cheap: each backend imports torch, transformers or ctranslate2 in ``load()``.
"""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookimpl
from ru_llm.translate.backends.ct2 import CT2Backend
from ru_llm.translate.backends.hf import M2M100Backend, MarianBackend, NllbBackend, Wmt21Backend
from ru_llm.translate.backends.openai_chat import OpenAIBackend

BUILTIN_BACKENDS = (Wmt21Backend, NllbBackend, M2M100Backend, MarianBackend, CT2Backend, OpenAIBackend)


@hookimpl
def register_translators(register: Callable[..., object]) -> None:
    for backend in BUILTIN_BACKENDS:
        register(backend())
