"""Running tasks against a model: requests in batches, per-item records, a resumable results file.

Per-item results are appended to ``OUT.partial.jsonl`` as they are scored, keyed by the task, its
settings and the item id; a rerun with the same settings reuses them, so an interrupted run resumes
and a repeated one costs nothing. The results JSON is written atomically at the end.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ru_llm.core.cache import JsonlCache
from ru_llm.core.errors import ConfigError, RuLLMError
from ru_llm.core.openai_http import CallFailed
from ru_llm.core.versions import environment_versions
from ru_llm.eval.model import (
    CAPABILITIES,
    CountsPrefixes,
    EvalModel,
    ModelSettings,
    answer,
    can_answer,
)
from ru_llm.eval.models.hf import model_fingerprint
from ru_llm.eval.registry import get_model_kind
from ru_llm.eval.task import (
    EvalTask,
    Item,
    TaskSettings,
    WholeRunTask,
)

Progress = Callable[[str, int], Callable[[int], None]]
CHUNK = 256  # requests answered and cached together, so a kill loses little
# ModelSettings fields added with the model kinds: part of a cache key only when set, so older caches stay valid
_KEYED_WHEN_SET = {"base_url": None, "logprobs": 1, "options": {}}


def settings_key(task: str, model: ModelSettings, settings: TaskSettings, data_sha: str | None) -> str:
    """What a cached per-item result depends on."""
    # prefix_cache gives the same numbers on or off: a result cached either way is reused; how a server is
    # reached (key variable, concurrency, timeout, backoff) changes no number either
    unkeyed = {"prefix_cache", "kind", "api_key_env", "concurrency", "timeout", "retry_backoff"}
    described = {
        k: v for k, v in asdict(model).items()
        if k not in unkeyed and not (k in _KEYED_WHEN_SET and v == _KEYED_WHEN_SET[k])
    }  # fmt: skip
    if model.kind_name != "hf":
        described["kind"] = model.kind_name
    blob = json.dumps(
        {"task": task, "model": described, "settings": asdict(settings), "data": data_sha,
         "weights": model_fingerprint(model.model), "adapter": model_fingerprint(model.adapter or "")},
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def item_cache(path: Path) -> JsonlCache:
    """Per-item records of earlier runs (``OUT.partial.jsonl``): ``{"key": settings key, "record": ...}`` lines,
    found by ``(settings key, record id)``. A line cut by a kill is skipped (that item is evaluated again)."""
    return JsonlCache(path, field="record", index=lambda entry: (entry["key"], entry["record"]["id"]))


def evaluate(
    tasks: list[tuple[str, EvalTask | WholeRunTask]],
    model_settings: ModelSettings,
    settings: TaskSettings,
    out: Path,
    *,
    progress: Progress | None = None,
    model: EvalModel | None = None,
    data: dict[str, str] | None = None,
    options: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run every task and write the results JSON to ``out``; returns it.

    :param model: an already loaded model (else the model kind of ``model_settings`` loads one).
    :param data: per-task data paths that replace ``settings.data`` for that task.
    :param options: per-task options (``--task-option``) that replace ``settings.options`` for that task.
    """
    from dataclasses import replace

    from ru_llm.core.jsonl import atomic_open

    task_settings = {
        name: replace(settings, data=(data or {}).get(name, settings.data),
                      options=(options or {}).get(name, settings.options))
        for name, _ in tasks
    }  # fmt: skip
    kind = get_model_kind(model_settings.kind_name)
    if model is None:
        kind.check(model_settings)
    # every task's data is read and checked before the model loads
    loaded = [(name, task, task.load(task_settings[name])) for name, task in tasks]
    started = time.time()
    model = model or kind.load(model_settings)
    cache = item_cache(out.with_name(out.name + ".partial.jsonl"))
    # every per-item task's requests, checked against what the model answers before any task runs
    planned = {
        name: _requests(task, task_data.items, task_settings[name], model, cache,
                        settings_key(name, model_settings, task_settings[name], task_data.sha256))
        for name, task, task_data in loaded if not isinstance(task, WholeRunTask)
    }  # fmt: skip
    for name, (todo, _, _) in planned.items():
        _check_capabilities(name, todo, model, model_settings.kind_name)
    described = model.describe()
    shown = {k: v for k, v in asdict(settings).items() if k != "options"}
    for name in task_settings:
        shown |= task_settings[name].options
    if model_settings.base_url:
        shown["base_url"] = model_settings.base_url
    results: dict[str, Any] = {
        "model": {
            "path": model_settings.model,
            "adapter": model_settings.adapter,
            "weights_sha256": model_fingerprint(model_settings.model),
            "adapter_sha256": model_fingerprint(model_settings.adapter) if model_settings.adapter else None,
            "device": model.device,
            "dtype": described.get("dtype"),
            "max_length": model.max_length,  # the context prompts had to fit
            "add_bos": model_settings.add_bos,
            "chat_template": model_settings.chat_template,
            "prefix_cache": described.get("prefix_cache"),
        },
        "settings": _shown_settings(shown),
        "versions": environment_versions(("ru-llm-eval", "torch", "transformers", "peft", "lm-eval")),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "tasks": {},
    }
    for name, task, task_data in loaded:
        key = settings_key(name, model_settings, task_settings[name], task_data.sha256)
        t0 = time.time()
        data_info = {"source": task_data.source, "sha256": task_data.sha256}
        if isinstance(task, WholeRunTask):  # MT-Bench, lm_eval:<task>: the task runs its items itself
            entry = task.run(model, task_settings[name], out.with_name(f"{out.name}.{key}"), progress)
            results["tasks"][name] = {**entry, "data": data_info, "time_s": round(time.time() - t0, 3)}
            continue
        if isinstance(model, CountsPrefixes):
            model.take_prefix_stats()  # counted per task
        todo, records, failed = planned[name]
        reused = len(records)
        failed = task_data.failed + failed + _answer(task, todo, model, cache, key, records, progress, name)
        ordered = [records[item.id] for item in task_data.items if item.id in records]
        results["tasks"][name] = {
            "metrics": task.aggregate(ordered),
            "counts": {"items": len(task_data.items) + len(task_data.failed), "scored": len(ordered),
                       "failed": len(failed), "reused_from_cache": reused},
            "data": data_info,
            "time_s": round(time.time() - t0, 3),
            "failures": failed,
            "items": ordered,
        }  # fmt: skip
        prefix = model.take_prefix_stats() if isinstance(model, CountsPrefixes) else None
        if prefix is not None:  # scored choices: what the prefix cache did
            results["tasks"][name]["prefix_cache"] = prefix
    results["time_s"] = round(time.time() - started, 3)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out) as fh:
        fh.write(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    return results


def _requests(
    task: EvalTask, items: list[Item], settings: TaskSettings, model: EvalModel, cache: JsonlCache, key: str
) -> tuple[list[tuple[Item, Any]], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The requests still to answer, the records cached by earlier runs, and the items that could not
    become a request (with the reason)."""
    records: dict[str, dict[str, Any]] = {}
    failed: list[dict[str, Any]] = []
    todo: list[tuple[Item, Any]] = []
    for item in items:
        cached = cache.get((key, item.id))
        if cached is not None:
            records[item.id] = cached
            continue
        try:
            todo.append((item, task.request(item, settings, model.fits)))
        except RuLLMError as e:
            failed.append({"id": item.id, "reason": e.message})
    return todo, records, failed


def _check_capabilities(name: str, todo: list[tuple[Item, Any]], model: EvalModel, kind: str) -> None:
    for request_type in dict.fromkeys(type(request) for _, request in todo):
        if not can_answer(model, request_type):
            needs = CAPABILITIES[request_type][1] if request_type in CAPABILITIES else request_type.__name__
            raise ConfigError(
                f"{name}: needs {needs}, which --model-kind {kind} does not give",
                hint="run it on a model kind that does (`ru-llm eval models` lists them)",
            )


def _answer(
    task: EvalTask,
    todo: list[tuple[Item, Any]],
    model: EvalModel,
    cache: JsonlCache,
    key: str,
    records: dict[str, dict[str, Any]],
    progress: Progress | None,
    name: str,
) -> list[dict[str, Any]]:
    """Answer and score ``todo`` kind by kind, in chunks, caching each record; returns the items whose
    answers a server kept failing on (a rerun asks again)."""
    failed: list[dict[str, Any]] = []
    advance = progress(name, len(todo)) if progress else (lambda n: None)
    for request_type in dict.fromkeys(type(request) for _, request in todo):
        group = [(item, request) for item, request in todo if type(request) is request_type]
        for start in range(0, len(group), CHUNK):
            chunk = group[start : start + CHUNK]
            try:
                responses = answer(model, [request for _, request in chunk], advance)
            except CallFailed as e:
                failed += [{"id": item.id, "reason": e.message} for item, _ in chunk]
                continue
            for (item, request), response in zip(chunk, responses, strict=True):
                record = task.score(item, request, response)
                cache.put(key, record)
                records[item.id] = record
    return failed


def _shown_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The settings as the results file records them: server URLs without user info or query, which may
    hold credentials (``https://user:token@host/v1``)."""
    from ru_llm.core.openai_http import public_url

    return {k: public_url(v) if k.endswith("url") and isinstance(v, str) else v for k, v in values.items()}
