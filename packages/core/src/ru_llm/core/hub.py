"""The Hugging Face hub, asked once and quickly before a command would wait on it.

Unreachable, ``huggingface_hub``/``transformers``/``datasets`` retry for about half a minute before
failing; a command that knows it needs the hub probes once (a few seconds at most) and answers in one
line instead.
"""

from __future__ import annotations

import os

from ru_llm.core.errors import RuLLMError

HUB_TIMEOUT_S = 3.0
OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def offline_requested() -> bool:
    """Whether the user put the hub libraries in offline mode (``HF_HUB_OFFLINE=1`` and friends)."""
    return any(os.environ.get(var, "").upper() in {"1", "ON", "YES", "TRUE"} for var in OFFLINE_VARS)


def hub_reachable(endpoint: str, timeout: float = HUB_TIMEOUT_S) -> bool:
    """Whether ``endpoint`` answers an HTTP request within ``timeout`` seconds (proxies honoured).

    Any HTTP answer, even an error status or a certificate the system does not trust, counts as
    reachable: the hub libraries judge those. The lookup runs in a thread so a hanging DNS cannot
    outlast the timeout.
    """
    import ssl
    import threading
    import urllib.error
    import urllib.request

    answered: list[bool] = []

    def probe() -> None:
        try:
            urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout).close()
            answered.append(True)
        except urllib.error.HTTPError:
            answered.append(True)
        except urllib.error.URLError as e:
            answered.append(isinstance(e.reason, ssl.SSLError))
        except (OSError, ValueError):
            answered.append(False)

    thread = threading.Thread(target=probe, name="ru-llm-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answered and answered[0])


def cached_on_disk(repo_id: str, filename: str = "config.json") -> bool:
    """Whether the local Hugging Face cache holds ``filename`` of the model ``repo_id``."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        found = try_to_load_from_cache(repo_id, filename)
    except (ValueError, OSError):
        return False
    return isinstance(found, str)


def check_hub_model(repo_id: str, *, what: str = "model", probe: bool = True) -> None:
    """Refuse, in seconds, a hub model this machine can neither find in its cache nor download."""
    if cached_on_disk(repo_id):
        return
    if offline_requested():
        raise RuLLMError(
            f"{what}: {repo_id}: no such local directory, and offline mode (HF_HUB_OFFLINE) keeps the hub out",
            hint="pass a local model directory",
        )
    if probe and not hub_reachable(hub_endpoint()):
        raise RuLLMError(
            f"{what}: {repo_id}: no such local directory, and the hub ({hub_endpoint()}) does not answer",
            hint="offline? pass a local model directory",
        )
