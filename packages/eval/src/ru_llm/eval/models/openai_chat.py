"""``--model-kind openai-chat`` (or ``--model openai:NAME``): replies from an OpenAI-compatible chat server.

No weights load here. The model answers :class:`~ru_llm.eval.model.ChatRequest` only (the judged
benchmarks); a task that needs log-likelihoods or plain generation stops the run with one line naming the
kinds that give them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.core.openai_http import ChatClient, check_reachable
from ru_llm.eval.model import OPENAI_PREFIX, ChatRequest, ModelSettings


def server_name(settings: ModelSettings) -> str:
    """The model's name on its server (``--model openai:NAME`` or ``--model NAME``)."""
    return settings.model.removeprefix(OPENAI_PREFIX)


def check_server(settings: ModelSettings, kind: str) -> None:
    """A server kind's checks: a model name, and a ``--base-url`` that answers a TCP connect."""
    if not server_name(settings):
        raise ConfigError(f"--model-kind {kind}: --model names the model on the server", hint="e.g. --model qwen2.5")
    if not settings.base_url:
        raise ConfigError(
            f"--model {settings.model}: needs --base-url URL (an OpenAI-compatible server)",
            hint="e.g. --base-url http://127.0.0.1:8000/v1",
        )
    check_reachable(settings.base_url, what="--base-url")


def client(settings: ModelSettings) -> ChatClient:
    assert settings.base_url is not None  # checked by check_server
    return ChatClient(
        settings.base_url,
        server_name(settings),
        key_env=settings.api_key_env,
        what="--base-url",
        timeout=settings.timeout,
        backoff=settings.retry_backoff,
    )


def openai_params(params: dict[str, Any]) -> dict[str, Any]:
    """The standard chat-completion parameters for transformers-named generation settings (greedy is
    temperature 0; the transformers-only ones, top_k, repetition_penalty, no_repeat_ngram_size, are not sent)."""
    out: dict[str, Any] = {"max_tokens": params["max_new_tokens"]}
    if params.get("do_sample"):
        out["temperature"] = params.get("temperature", 1.0)
        if "top_p" in params:
            out["top_p"] = params["top_p"]
    else:
        out["temperature"] = 0
    return out


def concurrently(fn: Callable[[int], None], indices: Any, workers: int) -> None:
    """``fn(i)`` for each index on ``workers`` threads; the first exception of any kind is raised after all end."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(fn, i) for i in indices]
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error


class OpenAIChatKind:
    name = "openai-chat"
    description = "an OpenAI-compatible chat server (--model NAME --base-url URL): chat only (judged benchmarks)"

    def check(self, settings: ModelSettings) -> None:
        check_server(settings, self.name)

    def load(self, settings: ModelSettings) -> OpenAIChatModel:
        return OpenAIChatModel(settings)


class OpenAIChatModel:
    """Replies from ``POST {base_url}/chat/completions``, ``settings.concurrency`` at a time."""

    device = "remote"
    max_length = None

    def __init__(self, settings: ModelSettings) -> None:
        self.settings = settings
        self.name = server_name(settings)
        self.client = client(settings)
        self.stats = self.client.stats

    def describe(self) -> dict[str, Any]:
        return {"dtype": None, "prefix_cache": None}

    def identity(self) -> dict[str, Any]:
        return {"model": OPENAI_PREFIX + self.name}

    def fits(self, text: str) -> bool:
        return True  # the server's tokenizer is not here; a prompt over its context is that call's error

    def chat(self, requests: Sequence[ChatRequest], done: Callable[[int, str], None]) -> None:
        def one(i: int) -> None:
            request = requests[i]
            done(i, self.client.chat(list(request.messages), **openai_params(request.params)).strip())

        concurrently(one, range(len(requests)), self.settings.concurrency)
