"""A minimal client for OpenAI-compatible chat servers (OpenAI, vLLM, TGI, llama.cpp server), standard library only.

``POST {base_url}/chat/completions`` with a JSON body; the key (when there is one) goes only into the
``Authorization`` header and is never part of anything returned, logged or cached. 429, 5xx, timeouts and
dropped connections are retried with exponential backoff; a refused connection on the first call, a 401/403
or another 4xx is a :class:`~ru_llm.core.errors.ConfigError` (one line).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from ru_llm.core.errors import ConfigError, RuLLMError


class CallFailed(RuLLMError):
    """A call that still failed after its retries (one item's failure, not the run's)."""


@dataclass
class CallStats:
    """What a run's calls to one server cost: made (HTTP requests that got an answer), cached, retried, failed."""

    made: int = 0
    cached: int = 0
    retried: int = 0
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, int]:
        return {"made": self.made, "cached": self.cached, "retried": self.retried, "failed": self.failed}


def api_key(env: str, *, what: str, required: bool) -> str | None:
    """The key from the environment variable ``env``; missing or empty is an error when ``required``."""
    key = os.environ.get(env, "").strip()
    if not key and required:
        raise ConfigError(
            f"{what}: no API key: the environment variable {env} is not set or empty",
            hint=f"export {env}=... (any non-empty value for a server without keys), or name another with "
            "--judge-api-key-env",
        )
    return key or None


def check_reachable(base_url: str, *, what: str, timeout: float = 5.0) -> None:
    """Fail with one line when nothing listens at ``base_url`` (a TCP connect, no request is made)."""
    parsed = urllib.parse.urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{what} {base_url!r}: not an http(s) URL", hint="e.g. http://127.0.0.1:8000/v1")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            pass
    except OSError as e:
        raise ConfigError(
            f"{what} {base_url}: cannot connect ({e.strerror or e.__class__.__name__})",
            hint="is the server running? check the URL",
        ) from None


class ChatClient:
    """Chat completions from one model on one OpenAI-compatible server."""

    def __init__(
        self,
        base_url: str,
        model: str,
        key: str | None,
        *,
        what: str,
        timeout: float = 120.0,
        retries: int = 4,
        backoff: float = 1.0,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._key = key
        self.what = what
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.stats = CallStats()

    def __repr__(self) -> str:  # never the key
        return f"ChatClient({self.url!r}, {self.model!r})"

    def chat(self, messages: list[dict[str, str]], **params: Any) -> str:
        """The first choice's message content; retries 429/5xx/timeouts, then :class:`CallFailed`."""
        body = json.dumps({"model": self.model, "messages": messages, **params}).encode()
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats.add(retried=1)
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    payload = json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as e:
                if e.code == 429 or e.code >= 500:
                    problem = f"HTTP {e.code}"
                    continue
                detail = _error_detail(e)
                raise ConfigError(
                    f"{self.what} {self.url}: HTTP {e.code}{': ' + detail if detail else ''}",
                    hint="check the model name and the API key" if e.code in (401, 403, 404) else None,
                ) from None
            except TimeoutError:
                problem = "timed out"
                continue
            except urllib.error.URLError as e:
                if isinstance(e.reason, ConnectionRefusedError) and attempt == 0 and self.stats.made == 0:
                    raise ConfigError(
                        f"{self.what} {self.url}: connection refused", hint="is the server running? check the URL"
                    ) from None
                problem = f"connection failed ({e.reason})"
                continue
            except (ConnectionError, OSError, ValueError) as e:
                problem = f"{e.__class__.__name__}"
                continue
            self.stats.add(made=1)
            try:
                return str(payload["choices"][0]["message"]["content"] or "")
            except (KeyError, IndexError, TypeError):
                self.stats.add(failed=1)
                raise CallFailed(f"{self.what}: the answer has no choices[0].message.content") from None
        self.stats.add(failed=1)
        raise CallFailed(f"{self.what}: {problem} after {self.retries} retries")


def _error_detail(error: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(error.read().decode("utf-8", "replace"))
        message = data.get("error", {}).get("message") if isinstance(data.get("error"), dict) else data.get("error")
        return str(message or "").split("\n")[0][:200]
    except (ValueError, AttributeError, OSError):
        return ""
