"""Built-in MT backends, registered through ``register_translators``."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookimpl


@hookimpl
def register_translators(register: Callable[..., object]) -> None:
    pass  # filled in as the backends land
