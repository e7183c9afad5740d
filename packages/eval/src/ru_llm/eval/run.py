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
from ru_llm.core.errors import RuLLMError
from ru_llm.core.versions import environment_versions
from ru_llm.eval.models.hf import HFEvalModel, ModelSettings, model_fingerprint
from ru_llm.eval.models.remote import RemoteModel, is_remote
from ru_llm.eval.task import (
    ChoiceRequest,
    EvalTask,
    GenerateRequest,
    Item,
    RollingRequest,
    TaskSettings,
    TokenizeRequest,
)


def settings_key(task: str, model: ModelSettings, settings: TaskSettings, data_sha: str | None) -> str:
    """What a cached per-item result depends on."""
    # prefix_cache gives the same numbers on or off: a result cached either way is reused
    described = {k: v for k, v in asdict(model).items() if k != "prefix_cache"}
    blob = json.dumps(
        {"task": task, "model": described, "settings": asdict(settings), "data": data_sha,
         "weights": model_fingerprint(model.model), "adapter": model_fingerprint(model.adapter or "")},
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class ItemCache(JsonlCache):
    """Per-item records of earlier runs (``OUT.partial.jsonl``): ``{"key": settings key, "record": ...}`` lines,
    found by ``(settings key, record id)``. A line cut by a kill is skipped (that item is evaluated again)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, field="record", index=lambda entry: (entry["key"], entry["record"]["id"]))


def evaluate(
    tasks: list[tuple[str, EvalTask]],
    model_settings: ModelSettings,
    settings: TaskSettings,
    out: Path,
    *,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
    model: HFEvalModel | None = None,
    data: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run every task and write the results JSON to ``out``; returns it.

    :param data: per-task data paths that replace ``settings.data`` for that task.
    """
    from dataclasses import replace

    from ru_llm.core.errors import ConfigError
    from ru_llm.core.jsonl import atomic_open

    task_settings = {name: replace(settings, data=(data or {}).get(name, settings.data)) for name, _ in tasks}
    remote = is_remote(model_settings.model)
    for name, task in tasks:  # --model openai:NAME: only tasks that get their answers from a server
        if remote and not getattr(task, "remote_answers", False):
            raise ConfigError(
                f"{name}: needs a local model (--model DIR); {model_settings.model} answers judged benchmarks only"
            )
    # every task's data is read and checked before the model loads
    loaded = [(name, task, task.load(task_settings[name])) for name, task in tasks]
    started = time.time()
    model = model or (RemoteModel(model_settings) if remote else HFEvalModel(model_settings))  # type: ignore[assignment]
    cache = ItemCache(out.with_name(out.name + ".partial.jsonl"))
    results: dict[str, Any] = {
        "model": {
            "path": model_settings.model,
            "adapter": model_settings.adapter,
            "weights_sha256": model_fingerprint(model_settings.model),
            "adapter_sha256": model_fingerprint(model_settings.adapter) if model_settings.adapter else None,
            "device": model.device,
            "dtype": None if remote else str(next(model.model.parameters()).dtype).replace("torch.", ""),
            "max_length": getattr(model, "max_length", None),  # the context prompts had to fit
            "add_bos": model_settings.add_bos,
            "chat_template": model_settings.chat_template,
            "prefix_cache": None if remote else model_settings.prefix_cache,
        },
        "settings": _shown_settings({k: v for k, v in asdict(settings).items() if k != "options"} | settings.options),
        "versions": environment_versions(("ru-llm-eval", "torch", "transformers", "peft", "lm-eval")),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "tasks": {},
    }
    for name, task, task_data in loaded:
        key = settings_key(name, model_settings, task_settings[name], task_data.sha256)
        t0 = time.time()
        run_whole = getattr(task, "run_whole", None)
        if run_whole is not None:  # lm_eval:<task>: lm-evaluation-harness runs the items (lm_eval_bridge)
            bars = {"progress": progress} if getattr(task, "reports_progress", False) else {}  # MT-Bench: its own bars
            entry = run_whole(model, task_settings[name], out.with_name(f"{out.name}.{key}"), **bars)
            data_info = {"source": task_data.source, "sha256": task_data.sha256}
            results["tasks"][name] = {**entry, "data": data_info, "time_s": round(time.time() - t0, 3)}
            continue
        prefix_stats = getattr(model, "prefix_stats", None)
        if prefix_stats is not None:  # counted per task
            model.prefix_stats = type(prefix_stats)(used=prefix_stats.used)
        records, failed, reused = _run_task(
            task, task_data.items, task_settings[name], model, cache, key, progress, name
        )
        failed = task_data.failed + failed
        results["tasks"][name] = {
            "metrics": task.aggregate(records),
            "counts": {"items": len(task_data.items) + len(task_data.failed), "scored": len(records),
                       "failed": len(failed), "reused_from_cache": reused},
            "data": {"source": task_data.source, "sha256": task_data.sha256},
            "time_s": round(time.time() - t0, 3),
            "failures": failed,
            "items": records,
        }  # fmt: skip
        if prefix_stats is not None and model.prefix_stats.requests:  # scored choices: what the prefix cache did
            results["tasks"][name]["prefix_cache"] = model.prefix_stats.as_dict()
    results["time_s"] = round(time.time() - started, 3)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out) as fh:
        fh.write(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    return results


def _run_task(
    task: EvalTask,
    items: list[Item],
    settings: TaskSettings,
    model: HFEvalModel,
    cache: ItemCache,
    key: str,
    progress: Callable[[str, int], Callable[[int], None]] | None,
    name: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
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
    reused = len(records)
    advance = progress(name, len(todo)) if progress else (lambda n: None)
    for kind, method in (
        (ChoiceRequest, "choice_logprobs"),
        (RollingRequest, "rolling_logprob"),
        (GenerateRequest, "generate"),
        (TokenizeRequest, "tokenize_stats"),
    ):
        group = [(item, request) for item, request in todo if isinstance(request, kind)]
        if not group:
            continue
        answer = getattr(model, method)
        for start in range(0, len(group), 256):  # score and cache in chunks, so a kill loses little
            chunk = group[start : start + 256]
            responses = answer([request for _, request in chunk], advance)
            for (item, request), response in zip(chunk, responses, strict=True):
                record = task.score(item, request, response)
                cache.put(key, record)
                records[item.id] = record
    ordered = [records[item.id] for item in items if item.id in records]
    return ordered, failed, reused


def _shown_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The settings as the results file records them: server URLs without user info or query, which may
    hold credentials (``https://user:token@host/v1``)."""
    from ru_llm.core.openai_http import public_url

    return {k: public_url(v) if k.endswith("url") and isinstance(v, str) else v for k, v in values.items()}
