"""``--model-kind openai-completions``: a served model's log-likelihoods from the OpenAI-compatible ``/completions``.

``ru-llm eval run mmlu,perplexity --model-kind openai-completions --model NAME --base-url http://HOST:8000/v1``
runs MMLU (letter log-likelihoods), perplexity and the generation tasks against a vLLM (or any server with
the legacy completions API and prompt log-probabilities) without loading weights here.

A log-likelihood is read from ``POST /completions`` with ``{"prompt": context + continuation, "echo": true,
"logprobs": N, "max_tokens": 0, "temperature": 0}``: the server returns the prompt's ``tokens``, their
``token_logprobs`` and ``text_offset``. The continuation's log-likelihood is the sum over the tokens that start
at or after the end of the context (and before the end of the prompt, in case a server generates a token
anyway). As :class:`~ru_llm.eval.models.hf.HFEvalModel` and lm-eval do, trailing whitespace of the context
moves to the continuation, so ``"Answer:" + " A"`` scores the token ``" A"``: with the same tokenizer and
weights the numbers are the in-process model's. A rolling log-likelihood (perplexity) is the sum over every
prompt token the server gives a log-probability (the first has none unless the tokenizer adds a BOS), in one
request per text: a text longer than the server's context is that item's error, as the server reports it.

Generation (copy, speed): ``POST /completions`` with ``max_tokens``, ``temperature 0`` and ``stop``; the token
count is the server's ``usage.completion_tokens``. The server's tokenizer is not here, so ``fits`` says yes
and ``--max-length`` is recorded only.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ru_llm.core.errors import RuLLMError
from ru_llm.core.openai_http import CallFailed, CompletionReply
from ru_llm.eval.model import ModelSettings
from ru_llm.eval.models.openai_chat import check_server, client, concurrently, server_name
from ru_llm.eval.task import ChoiceRequest, GenerateRequest, Generation, RollingRequest


class OpenAICompletionsKind:
    name = "openai-completions"
    description = (
        "an OpenAI-compatible /completions server with prompt logprobs (vLLM; --model NAME --base-url URL): "
        "log-likelihoods, perplexity, generation"
    )

    def check(self, settings: ModelSettings) -> None:
        check_server(settings, self.name)

    def load(self, settings: ModelSettings) -> OpenAICompletionsModel:
        return OpenAICompletionsModel(settings)


class OpenAICompletionsModel:
    """Log-likelihoods and generations from ``POST {base_url}/completions``, ``settings.concurrency`` at a time."""

    device = "remote"

    def __init__(self, settings: ModelSettings) -> None:
        self.settings = settings
        self.name = server_name(settings)
        self.client = client(settings)
        self.stats = self.client.stats
        self.max_length = settings.max_length

    def describe(self) -> dict[str, Any]:
        return {"dtype": None, "prefix_cache": None}

    def identity(self) -> dict[str, Any]:
        return {"model": "openai-completions:" + self.name}

    def fits(self, text: str) -> bool:
        return True  # the server's tokenizer is not here

    # -- log-likelihoods ------------------------------------------------------------------------------
    def _prompt_logprobs(self, prompt: str) -> list[tuple[int, float | None]]:
        """``(text offset, log-probability)`` of each prompt token the server echoes."""
        reply = self.client.completion(prompt, echo=True, logprobs=self.settings.logprobs, max_tokens=0, temperature=0)
        return _echoed(reply, prompt, self.client.what)

    def loglikelihood(self, requests: Sequence[ChoiceRequest], progress: Callable[[int], None]) -> list[list[float]]:
        pairs = [(r, c) for r, request in enumerate(requests) for c in range(len(request.continuations))]
        results = [[0.0] * len(request.continuations) for request in requests]
        left = [len(request.continuations) for request in requests]
        lock = threading.Lock()

        def one(k: int) -> None:
            r, c = pairs[k]
            context, continuation = _moved_whitespace(requests[r].context, requests[r].continuations[c])
            start = len(context)
            tokens = self._prompt_logprobs(context + continuation)
            scored = [lp for offset, lp in tokens if offset >= start]
            if not scored or any(lp is None for lp in scored):
                raise CallFailed(f"{self.client.what}: no log-probability for the continuation {continuation!r}")
            results[r][c] = float(sum(scored))  # type: ignore[arg-type]
            with lock:
                left[r] -= 1
                finished = not left[r]
            if finished:
                progress(1)

        concurrently(one, range(len(pairs)), self.settings.concurrency)
        progress(sum(1 for request in requests if not request.continuations))
        return results

    def loglikelihood_rolling(
        self, requests: Sequence[RollingRequest], progress: Callable[[int], None]
    ) -> list[tuple[float, int]]:
        results: list[tuple[float, int]] = [(0.0, 0)] * len(requests)

        def one(i: int) -> None:
            scored = [lp for _, lp in self._prompt_logprobs(requests[i].text) if lp is not None]
            results[i] = (float(sum(scored)), len(scored))
            progress(1)

        concurrently(one, range(len(requests)), self.settings.concurrency)
        return results

    # -- generation ------------------------------------------------------------------------------------
    def generate(self, requests: Sequence[GenerateRequest], progress: Callable[[int], None]) -> list[Generation]:
        """Greedy completions, one request at a time so each is timed as the in-process model's are."""
        texts: list[Generation] = []
        for request in requests:
            params: dict[str, Any] = {"max_tokens": request.max_new_tokens, "temperature": 0}
            if request.stop:
                params["stop"] = list(request.stop)
            started = time.perf_counter()
            reply = self.client.completion(request.prompt, **params)
            seconds = time.perf_counter() - started
            text = reply.text
            for stop in request.stop:
                text = text.split(stop)[0]
            texts.append(Generation(text, seconds=seconds, tokens=reply.completion_tokens))
            progress(1)
        return texts


def _moved_whitespace(context: str, continuation: str) -> tuple[str, str]:
    """lm-eval's rule: trailing whitespace of the context belongs to the continuation."""
    spaces = len(context) - len(context.rstrip())
    if spaces:
        return context[:-spaces], context[-spaces:] + continuation
    return context, continuation


def _echoed(reply: CompletionReply, prompt: str, what: str) -> list[tuple[int, float | None]]:
    """The echoed prompt tokens of a completions reply as ``(text offset, log-probability)``."""
    logprobs = reply.logprobs or {}
    values = logprobs.get("token_logprobs")
    offsets = logprobs.get("text_offset")
    if not isinstance(values, list) or not isinstance(offsets, list) or len(values) != len(offsets):
        raise _no_logprobs(what)
    tokens: list[tuple[int, float | None]] = []
    for offset, value in zip(offsets, values, strict=True):
        if not isinstance(offset, int) or offset >= len(prompt):  # a generated token, if the server made one
            continue
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise _no_logprobs(what)
        tokens.append((offset, None if value is None else float(value)))
    if not tokens:
        raise _no_logprobs(what)
    return tokens


def _no_logprobs(what: str) -> RuLLMError:
    return CallFailed(
        f"{what}: the /completions answer has no echoed prompt log-probabilities "
        "(choices[0].logprobs.token_logprobs and text_offset)",
        hint="the server must support echo with logprobs on /v1/completions (vLLM does)",
    )
