"""Calling a judge: each prompt judged once (from the cache when it was before), read, asked again once when
unreadable; and the cache keys answers and judgments are stored under (``ru_llm.core.cache.JsonlCache``).

Shared by the judged benchmarks (:mod:`ru_llm.eval.tasks.mt_bench`) and the arena (:mod:`ru_llm.eval.judges.arena`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

from ru_llm.core.cache import JsonlCache
from ru_llm.core.errors import ConfigError
from ru_llm.core.openai_http import CallFailed, ChatClient
from ru_llm.eval.judges.verdicts import Reading
from ru_llm.eval.models.openai_chat import concurrently

JUDGE_PARAMS = {"temperature": 0, "max_tokens": 2048}  # FastChat's chat_completion_openai for the judge


def cache_key(**parts: Any) -> str:
    """The key of a cached answer or judgment: a sha256 of ``parts`` as sorted JSON."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def judge_all(
    calls: list[tuple[str, list[dict[str, str]]]],
    parse: Callable[[str], Reading],
    judge: ChatClient,
    cache: JsonlCache,
    judge_model: str,
    concurrency: int,
    *,
    params: dict[str, Any] | None = None,
    advance: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Each ``(prompt name, messages)`` judged (from the cache when it was before) and read by ``parse`` (a
    :mod:`ru_llm.eval.judges.verdicts` reader). A judgment without a usable value is asked for once more; what
    is left is the item's ``problem``. Nothing the judge returns raises: a call that keeps failing, or a 4xx
    once the judge has answered others (a prompt over its context), is that item's ``error``; only a 4xx
    before any answer (a wrong key or model name) stops the run. Returns the values in order and how many
    came from the cache; ``advance(1)`` after each."""
    values: list[dict[str, Any]] = [{} for _ in calls]
    reused = 0
    answered = False
    lock = threading.Lock()
    params = JUDGE_PARAMS if params is None else params

    def one(i: int) -> None:
        nonlocal reused, answered
        name, messages = calls[i]
        key = cache_key(kind="judgment", judge=judge_model, prompt=name, messages=messages)
        hit = cache.get(key)
        if hit is not None:  # read again: what the readers accept may have changed since it was cached
            judge.stats.add(cached=1)
            parsed, problem = parse(hit.get("judgment"))
            values[i] = {**hit, "parsed": parsed, "problem": problem}
            with lock:
                reused += 1
            return
        try:
            text = judge.chat(messages, **params)
            answered = True
            (parsed, problem), attempts = parse(text), 1
            if problem is not None:  # once more; then it is a judge failure with this reason
                text = judge.chat(messages, **params)
                (parsed, problem), attempts = parse(text), 2
        except CallFailed as e:  # not cached: a rerun asks again
            values[i] = {"judgment": None, "parsed": None, "error": e.message}
            return
        except ConfigError as e:
            if not answered:
                raise
            values[i] = {"judgment": None, "parsed": None, "error": e.message}
            return
        values[i] = {"judgment": text, "parsed": parsed, "problem": problem, "attempts": attempts}
        cache.put(key, values[i])

    def counted(i: int) -> None:
        try:
            one(i)
        finally:
            if advance is not None:
                advance(1)

    concurrently(counted, range(len(calls)), concurrency)
    return values, reused
