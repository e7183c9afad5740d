"""Optional dependencies: import them where used, and say exactly what to install when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from ru_llm.core.errors import ConfigError


def require(module: str, *, purpose: str, package: str | None = None, extra: str | None = None) -> ModuleType:
    """Import ``module`` or fail with one line naming what to install.

    :param purpose: what needs it, as the user would say it (``"deepspeed: zero3"``).
    :param package: the ru-llm distribution whose extra provides it (``"ru-llm-train"``).
    :param extra: that distribution's extra (``"deepspeed"``); without ``package``, the PyPI name.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if package and extra:
            install = f'pip install "{package}[{extra}]"'
        else:
            install = f"pip install {extra or module.split('.')[0]}"
        raise ConfigError(
            f"{purpose} needs {module.split('.')[0]}, which is not installed ({e.msg or e})", hint=install
        ) from None


def require_datasets(purpose: str, *, package: str = "ru-llm-dataset", extra: str = "hf") -> ModuleType:
    """Import Hugging Face ``datasets`` or fail with one line naming the extra that provides it.

    :param purpose: what needs it (``"mmlu from the hub"``).
    :param package: the ru-llm distribution whose ``extra`` installs ``datasets`` for this use (by default
        ``ru-llm-dataset[hf]``; ``ru-llm-eval`` and ``ru-llm-tokenize`` name their own).
    """
    return require("datasets", purpose=purpose, package=package, extra=extra)
