"""The Hugging Face hub's reachability, checked once before a command reads from it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ru_llm.core.hub import HUB_TIMEOUT_S, hub_reachable
from ru_llm.core.hub import OFFLINE_VARS as _OFFLINE_VARS

__all__ = ["HUB_TIMEOUT_S", "hub_reachable", "offline_if_unreachable"]


@contextmanager
def offline_if_unreachable(needed: bool) -> Iterator[str | None]:
    """Put the hub libraries in offline mode for the block when the hub does not answer.

    Unreachable, ``huggingface_hub``/``datasets``/``transformers`` would retry for about half a
    minute, printing every retry, before failing; in offline mode they use what the local cache holds
    and fail at once otherwise. Yields the unreachable endpoint, or ``None`` when nothing changed:
    not ``needed`` (everything local), offline mode already set (``HF_HUB_OFFLINE=1``, honoured as
    is), or the hub answered.
    """
    truthy = {"1", "ON", "YES", "TRUE"}
    if not needed or any(os.environ.get(var, "").upper() in truthy for var in _OFFLINE_VARS):
        yield None
        return
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    if hub_reachable(endpoint):
        yield None
        return
    # huggingface_hub.constants and datasets.config read the variable when first imported.
    modules = ("huggingface_hub.constants", "datasets.config")
    saved = {name: vars(sys.modules[name]).get("HF_HUB_OFFLINE", False) for name in modules if name in sys.modules}
    saved_env = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    for name in saved:
        sys.modules[name].HF_HUB_OFFLINE = True
    try:
        yield endpoint
    finally:
        if saved_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved_env
        for name in modules:
            if name in sys.modules:
                sys.modules[name].HF_HUB_OFFLINE = saved.get(name, False)
        if "datasets.config" in sys.modules:
            sys.modules["datasets.config"].HF_DATASETS_OFFLINE = sys.modules["datasets.config"].HF_HUB_OFFLINE
