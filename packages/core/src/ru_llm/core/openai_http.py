"""One client for OpenAI-compatible servers (OpenAI, vLLM, TGI, llama.cpp server), standard library only.

``POST {base_url}/chat/completions`` (:meth:`ChatClient.chat`) or ``POST {base_url}/completions``
(:meth:`ChatClient.completion`, the text endpoint that gives prompt log-probabilities) with a JSON body.
The key is read from an environment variable, named by the caller, when the client is made; it goes only
into the ``Authorization`` header (``Bearer``). Credentials in the URL (``https://user:password@host/v1``, as a
proxy with basic authentication wants) are taken out of it and sent as ``Basic`` instead; a key and URL
credentials together are refused, as both would need that one header. Neither is ever part of what the
client returns, raises or logs: every message and hint passes through :func:`~ru_llm.core.redact.redact`
with them, so a server that echoes the header (``Incorrect API key provided: Bearer sk-...``) shows
``Bearer ***``.

Retried, up to ``retries`` times: HTTP 408, 409, 425, 429 and 5xx (but 501 and 505, which no retry
changes), timeouts, and refused or dropped connections. The waits are ``backoff`` seconds doubled each
time, plus up to a quarter of jitter so parallel callers spread out, or the server's ``Retry-After`` when it
asks for longer (at most :data:`MAX_WAIT`). What a caller gets:

* :class:`RequestRefused` (a :class:`~ru_llm.core.errors.ConfigError`): another 4xx (a wrong key or URL, an
  unknown model): no retry can help, so the run should stop.
* :class:`CallFailed`: still failing after the retries, or an answer that is not a completion: this
  call's failure (a caller may record it and go on).
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import logging
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ru_llm.core.errors import ConfigError, RuLLMError
from ru_llm.core.redact import redact

MAX_WAIT = 60.0  # seconds: the longest wait between tries, whatever Retry-After asks
_NEVER_RETRIED_5XX = frozenset({501, 505})
_log = logging.getLogger(__name__)


def retryable(status: int) -> bool:
    """Whether an HTTP status may go away on its own (rate limits, overload, a restarting server)."""
    return status in (408, 409, 425, 429) or (status >= 500 and status not in _NEVER_RETRIED_5XX)


def public_url(url: str) -> str:
    """``url`` without user info, query or fragment (they may hold credentials)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


class ChatError(RuLLMError):
    """A chat call that did not give an answer.

    ``status``: the last HTTP status (``None`` for a timeout or a connection problem); ``detail``: the server's
    error message, redacted and cut to one line; ``problem``: ``"HTTP 503"``, ``"timed out"``,
    ``"connection failed (...)"``; ``tries``: requests made.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        detail: str = "",
        problem: str = "",
        tries: int = 1,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.detail = detail
        self.problem = problem
        self.tries = tries


class CallFailed(ChatError):
    """This call failed (after its retries, or with an answer that is no chat completion); others may not."""


class RequestRefused(ChatError, ConfigError):
    """The server refused the request with a status no retry changes (401, 403, 404, 400, ...)."""


@dataclass
class CallStats:
    """What one client's calls cost: made (requests answered), cached (by the caller), retried, failed."""

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


@dataclass(frozen=True)
class ChatReply:
    """The first choice of a chat completion."""

    content: str
    finish_reason: str | None


@dataclass(frozen=True)
class CompletionReply:
    """The first choice of a text completion: the ``text``, its ``logprobs`` as the server gives them
    (``tokens``, ``token_logprobs``, ``text_offset``; ``None`` unless asked for), ``finish_reason``, and
    ``completion_tokens`` from ``usage`` (``None`` when the server does not say)."""

    text: str
    logprobs: dict[str, Any] | None
    finish_reason: str | None
    completion_tokens: int | None


def api_key(env: str, *, what: str, required: bool, hint: str | None = None) -> str | None:
    """The key in the environment variable ``env`` (surrounding whitespace removed; empty is none).

    :param what: what needs the key, for the error (a flag or a backend).
    :param required: a missing key is a :class:`ConfigError` (else ``None``: a server without keys).
    """
    key = os.environ.get(env, "").strip()
    if not key and required:
        raise ConfigError(
            f"{what}: no API key: the environment variable ${env} is not set or empty",
            hint=hint or f"export {env}=... (any non-empty value for a server without keys)",
        )
    return key or None


@dataclass(frozen=True, repr=False)
class ServerAuth:
    """What a server is sent: ``url`` without user info, and the ``Authorization`` header value (or ``None``)."""

    url: str
    header: str | None
    secrets: tuple[str, ...]  # what redaction masks: the key, the password, the encoded pair

    def __repr__(self) -> str:  # never the secrets
        return f"ServerAuth({public_url(self.url)!r}, {'with' if self.header else 'no'} Authorization)"


def server_auth(
    base_url: str, key_env: str | None, *, what: str, required: bool, hint: str | None = None
) -> ServerAuth:
    """How to authenticate to ``base_url``: the key in ``$key_env`` as ``Bearer``, or the URL's own
    ``user:password@`` as ``Basic`` (urllib would take them for part of the host name).

    URL credentials stand for a required key (a proxy authenticates the caller); a key and URL credentials
    together are a :class:`ConfigError`, as both would need the one header. Callers run this before
    loading models, so the mistake is reported at once.
    """
    parts = urllib.parse.urlsplit(base_url)
    user, password = urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password or "")
    basic = base64.b64encode(f"{user}:{password}".encode()).decode() if user or password else None
    if basic:
        host = parts.netloc.rpartition("@")[2]
        base_url = urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    key = api_key(key_env, what=what, required=required and not basic, hint=hint) if key_env else None
    if key and basic:
        raise ConfigError(
            f"{what} {public_url(base_url)}: credentials in the URL and an API key in ${key_env}: both would go in "
            "the one Authorization header",
            hint=f"keep one: unset {key_env}, or drop user:password@ from the URL",
        )
    header = f"Bearer {key}" if key else f"Basic {basic}" if basic else None
    return ServerAuth(base_url, header, tuple(filter(None, (key, password, basic))))


def check_reachable(base_url: str, *, what: str, timeout: float = 5.0) -> None:
    """Fail with one line when ``base_url`` is no http(s) URL or nothing listens there (a TCP connect only)."""
    parsed = urllib.parse.urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{what} {public_url(base_url)!r}: not an http(s) URL", hint="e.g. http://127.0.0.1:8000/v1")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            pass
    except OSError as e:
        raise ConfigError(
            f"{what} {public_url(base_url)}: cannot connect ({e.strerror or e.__class__.__name__})",
            hint="is the server running? check the URL",
        ) from None


class ChatClient:
    """Chat completions from one model on one OpenAI-compatible server; safe to share between threads.

    :param key_env: the environment variable holding the key (``None``: send none); read once, here.
    :param key_required: a missing key is an error now rather than a 401 later.
    :param what: names the server in messages (a flag such as ``--judge-base-url``, or a backend).
    :param timeout: seconds a request may wait for the server before it counts as timed out.
    :param retries: tries after the first; ``backoff``: the first wait in seconds.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        key_env: str | None = "OPENAI_API_KEY",
        key_required: bool = False,
        what: str = "the server",
        timeout: float = 120.0,
        retries: int = 4,
        backoff: float = 1.0,
    ) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ConfigError(
                f"{what} {public_url(base_url)!r}: not an http(s) URL", hint="e.g. http://127.0.0.1:8000/v1"
            )
        auth = server_auth(base_url, key_env, what=what, required=key_required)
        self.base_url = auth.url.rstrip("/")
        self.url = self.base_url + "/chat/completions"
        self.where = public_url(self.url)
        self.model = model
        self.key_env = key_env
        self.__auth: ServerAuth | None = auth
        self.what = what
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.stats = CallStats()

    def __repr__(self) -> str:  # never the key
        return f"ChatClient({self.where!r}, {self.model!r})"

    def redact(self, text: str) -> str:
        """``text`` with this client's key and anything else key-shaped masked."""
        return redact(text, self.__auth.secrets if self.__auth else ())

    def close(self) -> None:
        """Forget the key and URL credentials (a closed client sends none)."""
        self.__auth = None

    def chat(self, messages: list[dict[str, str]], **params: Any) -> str:
        """The first choice's message content; ``params`` go into the body (``temperature``, ``max_tokens``...)."""
        return self.complete(messages, **params).content

    def complete(self, messages: list[dict[str, str]], **params: Any) -> ChatReply:
        """The first choice of ``POST /chat/completions``; retries as the module says, then raises."""
        body = json.dumps({"model": self.model, "messages": messages, **params}, ensure_ascii=False).encode("utf-8")
        payload = self._post(body)
        try:
            choice = payload["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise self._malformed("choices[0].message.content", "an OpenAI-compatible /v1 API") from None
        return ChatReply(str(content or ""), choice.get("finish_reason"))

    def completion(self, prompt: str, **params: Any) -> CompletionReply:
        """The first choice of ``POST /completions``; ``params`` go into the body (``max_tokens``, ``echo``,
        ``logprobs``, ``temperature``, ``stop``...). Retries as the module says, then raises."""
        body = json.dumps({"model": self.model, "prompt": prompt, **params}, ensure_ascii=False).encode("utf-8")
        url = self.base_url + "/completions"
        payload = self._post(body, url)
        try:
            choice = payload["choices"][0]
            text = choice.get("text") or ""
            logprobs = choice.get("logprobs")
            if logprobs is not None and not isinstance(logprobs, dict):
                raise TypeError
        except (KeyError, IndexError, TypeError, AttributeError):
            api = "an OpenAI-compatible /v1 API with /completions"
            raise self._malformed("choices[0] with text and logprobs", api) from None
        usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
        tokens = usage.get("completion_tokens")
        return CompletionReply(
            str(text), logprobs, choice.get("finish_reason"), tokens if isinstance(tokens, int) else None
        )

    def _post(self, body: bytes, url: str | None = None) -> Any:
        url = url or self.url
        where = public_url(url)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.__auth and self.__auth.header:
            headers["Authorization"] = self.__auth.header
        problem, status, detail, wait_at_least = "", None, "", 0.0
        for attempt in range(self.retries + 1):
            if attempt:
                wait = min(MAX_WAIT, max(wait_at_least, self.backoff * 2 ** (attempt - 1) * (1 + random.random() / 4)))
                said = f" ({detail})" if detail else ""
                self._log(f"{self.what} {where}: {problem}{said}; retry {attempt} of {self.retries} in {wait:.1f} s")
                self.stats.add(retried=1)
                time.sleep(wait)
            status, detail, wait_at_least = None, "", 0.0
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as e:
                status, detail = e.code, _error_detail(e, self.redact)
                problem = f"HTTP {e.code}"
                if retryable(e.code):
                    wait_at_least = _retry_after(e.headers.get("Retry-After") if e.headers else None)
                    continue
                raise self._refused(e.code, detail, attempt + 1, where) from None
            except urllib.error.URLError as e:  # no answer: refused, unresolvable, timed out while connecting
                problem = _no_answer(e.reason)
                continue
            except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as e:
                problem = _no_answer(e)
                continue
            self.stats.add(made=1)
            try:
                return json.loads(raw.decode("utf-8"))
            except ValueError:
                self.stats.add(failed=1)
                raise self._error(
                    CallFailed,
                    f"{self.what} {where}: the answer is not JSON",
                    status=200,
                    problem="the answer is not JSON",
                    tries=attempt + 1,
                ) from None
        self.stats.add(failed=1)
        message = f"{self.what}: {problem} after {self.retries} retries" + (f": {detail}" if detail else "")
        raise self._error(CallFailed, message, status=status, detail=detail, problem=problem, tries=self.retries + 1)

    def _malformed(self, expected: str, api: str) -> CallFailed:
        """A 200 answer without what the call reads (counted as failed)."""
        self.stats.add(failed=1)
        problem = f"the answer has no {expected}"
        hint = f"check that the URL points at {api}"
        return self._error(CallFailed, f"{self.what}: {problem}", hint=hint, status=200, problem=problem)

    def _refused(self, status: int, detail: str, tries: int, where: str) -> RequestRefused:
        hint = None
        if status in (401, 403) and self.key_env:
            hint = f"check the API key in ${self.key_env} (it is read from the environment only)"
        elif status in (401, 403):
            hint = "the server wants an API key: name the environment variable that holds it"
        elif status == 404:
            hint = "check the URL (it usually ends in /v1) and the model name the server serves"
        message = f"{self.what} {where}: HTTP {status}" + (f": {detail}" if detail else "")
        return self._error(
            RequestRefused, message, hint=hint, status=status, detail=detail, problem=f"HTTP {status}", tries=tries
        )

    def _error(self, kind: type[ChatError], message: str, *, hint: str | None = None, **fields: Any) -> Any:
        return kind(self.redact(message), hint=self.redact(hint) if hint else None, **fields)

    def _log(self, message: str) -> None:
        _log.info("%s", self.redact(message))


def _no_answer(reason: object) -> str:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    text = getattr(reason, "strerror", None) or str(reason) or reason.__class__.__name__
    return f"connection failed ({text})"


def _error_detail(error: urllib.error.HTTPError, redacted: Callable[[str], str]) -> str:
    """The server's error message (``{"error": {"message": ...}}`` or the body), redacted before it is cut to one
    line of at most 200 characters (a cut must not leave half a key behind)."""
    try:
        raw = error.read().decode("utf-8", "replace")
    except Exception:  # a body that cannot be read still leaves the status to report
        raw = ""
    try:
        payload = json.loads(raw)
        message = payload.get("error", payload) if isinstance(payload, dict) else payload
        if isinstance(message, dict):
            message = message.get("message", message)
        raw = str(message)
    except ValueError:
        pass
    line = " ".join(redacted(raw).split()) or str(error.reason or "")
    return line[:200] + ("..." if len(line) > 200 else "")


def _retry_after(value: str | None) -> float:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date), at most :data:`MAX_WAIT`."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 0.0
        seconds = when.timestamp() - time.time()
    return min(MAX_WAIT, max(0.0, seconds))
