"""`ru-llm eval run TASK[,TASK...] --model DIR --out results.json`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import ProgressColumn
from rich.text import Text

from ru_llm.core.progress import make_progress


class ItemsPerSecond(ProgressColumn):
    def render(self, task: Any) -> Text:
        return Text(f"{task.speed:.1f} items/s" if task.speed else "- items/s")


def run_command(
    tasks: Annotated[
        str,
        typer.Argument(
            help="Task names, comma-separated (see `ru-llm eval tasks`); lm_eval:TASK: an lm-evaluation-harness task."
        ),
    ],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model directory or hub id; a served model's name (openai:NAME).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results JSON file.")],
    model_kind: Annotated[
        str | None,
        typer.Option(
            help="How the model answers (`ru-llm eval models`): hf (default), openai-chat (the default for "
            "openai:NAME), openai-completions, or a plugin's.",
        ),
    ] = None,
    task_option: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=VALUE for the tasks that take KEY (repeatable; `ru-llm eval tasks --json` lists each task's), "
            "e.g. judge_model=NAME for mt_bench.",
        ),
    ] = None,
    model_option: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE for a plugin model kind (repeatable).")
    ] = None,
    adapter: Annotated[str | None, typer.Option(help="A peft adapter directory to apply.")] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            help="Local data: PATH for every task, or TASK=PATH (repeatable). MMLU: a dir with dev/, test/; "
            "lm_eval:TASK: a folder of lm-eval task YAMLs."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Evaluate at most N items per task.")] = None,
    shots: Annotated[int | None, typer.Option(min=0, help="Few-shot examples (MMLU default 5).")] = None,
    subjects: Annotated[str | None, typer.Option(help="MMLU subjects, comma-separated (default: all).")] = None,
    batch_size: Annotated[str, typer.Option(help="auto, or sequences per batch.")] = "auto",
    max_length: Annotated[
        int | None,
        typer.Option(
            min=16,
            help="Context length in tokens (default: the model's, from its config or tokenizer, as lm-eval; "
            "2048 when neither says).",
        ),
    ] = None,
    chat_template: Annotated[bool, typer.Option(help="Wrap prompts in the tokenizer's chat template.")] = False,
    add_bos: Annotated[
        bool | None,
        typer.Option(
            "--add-bos/--no-add-bos",
            help="Prepend the BOS token or not (default: as the tokenizer does, as lm-eval >= 0.4.10).",
        ),
    ] = None,
    prefix_cache: Annotated[
        bool,
        typer.Option(
            help="Run the few-shot prefix that a task's prompts share (MMLU: header and shots, per subject) once "
            "and score each question against its key/value cache; the same log-likelihoods, faster.",
        ),
    ] = True,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = "auto",
    dtype: Annotated[str, typer.Option(help="auto, bf16, fp16 or fp32.")] = "auto",
    trust_remote_code: Annotated[bool, typer.Option(help="Run code shipped with the model.")] = False,
    max_new_tokens: Annotated[
        int | None, typer.Option(min=1, help="Generated tokens per answer (replaces the task's or preset's).")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="A served model (openai-chat, openai-completions): the server's URL (…/v1).")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option(help="A served model: the environment variable holding its key (may be unset).")
    ] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option(min=1, help="A served model: requests in flight at once.")] = 8,
    timeout: Annotated[float, typer.Option(min=0.1, help="A served model: seconds per request.")] = 120.0,
    judge_model: Annotated[str | None, typer.Option(hidden=True)] = None,
    judge_base_url: Annotated[str | None, typer.Option(hidden=True)] = None,
    judge_api_key_env: Annotated[str | None, typer.Option(hidden=True)] = None,
    judge_concurrency: Annotated[int | None, typer.Option(min=1, hidden=True)] = None,
    judge_timeout: Annotated[float | None, typer.Option(min=0.1, hidden=True)] = None,
    preset: Annotated[str | None, typer.Option(hidden=True)] = None,
    cache_dir: Annotated[Path | None, typer.Option(hidden=True)] = None,
    baseline: Annotated[str | None, typer.Option(hidden=True)] = None,
) -> None:
    """Evaluate a model on tasks and write one results JSON (per-item records included; reruns resume)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from ru_llm.core.errors import ConfigError
    from ru_llm.core.options import parse_key_values
    from ru_llm.eval.lm_eval_bridge import PREFIX, LMEvalTask
    from ru_llm.eval.model import ModelSettings
    from ru_llm.eval.registry import get_model_kind, get_task
    from ru_llm.eval.report import terminal_table
    from ru_llm.eval.run import evaluate
    from ru_llm.eval.task import TaskSettings

    console = Console(stderr=True)
    given = parse_key_values(task_option, "--task-option")
    deprecated = {
        "judge_model": ("--judge-model", judge_model),
        "judge_base_url": ("--judge-base-url", judge_base_url),
        "judge_api_key_env": ("--judge-api-key-env", judge_api_key_env),
        "concurrency": ("--judge-concurrency", judge_concurrency),
        "timeout": ("--judge-timeout", judge_timeout),
        "preset": ("--preset", preset),
        "cache_dir": ("--cache-dir", None if cache_dir is None else str(cache_dir)),
        "baseline": ("--baseline", baseline),
    }
    for key, (flag, value) in deprecated.items():
        if value is not None:
            console.print(f"warning: {flag} is deprecated; write --task-option {key}=...", style="yellow", markup=False)
            given.setdefault(key, value)
    names = [t.strip() for t in tasks.split(",") if t.strip()]
    if not names:
        raise ConfigError("no task named", hint="see `ru-llm eval tasks`")
    # lm_eval:<task> is any lm-evaluation-harness task; other names are registered tasks (an unknown
    # one lists the known ones)
    resolved = [
        (name, LMEvalTask(name.removeprefix(PREFIX)) if name.startswith(PREFIX) else get_task(name)) for name in names
    ]
    if batch_size != "auto" and not (batch_size.isdigit() and int(batch_size) > 0):
        raise ConfigError(f"--batch-size {batch_size!r}: expected auto or a positive integer")
    if dtype not in ("auto", "bf16", "fp16", "fp32"):
        raise ConfigError(f"--dtype {dtype!r}: expected auto, bf16, fp16 or fp32")
    if out.exists() and out.is_dir():
        raise ConfigError(f"--out {out}: is a directory", hint="give a file name such as results.json")
    model_settings = ModelSettings(
        model=model,
        adapter=adapter,
        device=device,
        dtype=dtype,
        batch_size=None if batch_size == "auto" else int(batch_size),
        max_length=max_length,
        add_bos=add_bos,
        chat_template=chat_template,
        trust_remote_code=trust_remote_code,
        prefix_cache=prefix_cache,
        kind=model_kind,
        base_url=base_url,
        api_key_env=api_key_env,
        concurrency=concurrency,
        timeout=timeout,
        options=parse_key_values(model_option, "--model-option"),
    )
    get_model_kind(model_settings.kind_name).check(model_settings)  # before any data is read
    per_task: dict[str, str] = {}
    shared: str | None = None
    for value in data or []:
        name, sep, path = value.partition("=")
        if sep and name in names:
            per_task[name] = path
        elif sep and name and "/" not in name:
            raise ConfigError(f"--data {value!r}: {name!r} is not one of the tasks run ({', '.join(names)})")
        else:
            shared = value
    settings = TaskSettings(
        data=shared,
        limit=limit,
        shots=shots,
        subjects=tuple(s.strip() for s in (subjects or "").split(",") if s.strip()),
        max_length=max_length,
        chat_template=chat_template,
        max_new_tokens=max_new_tokens,
    )
    options = split_task_options(resolved, given)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        ItemsPerSecond(),
        TimeRemainingColumn(),
    )
    with make_progress(*columns, console=console) as bar:

        def progress(name: str, total: int):  # type: ignore[no-untyped-def]
            task_id = bar.add_task(name, total=total)
            return lambda n: bar.advance(task_id, n)

        results = evaluate(resolved, model_settings, settings, out, progress=progress, data=per_task, options=options)
    console.print(terminal_table([(out.stem, results)]))
    for line in run_warnings(results, out):
        console.print(line, style="yellow", markup=False, highlight=False, soft_wrap=True)
    console.print(f"results: {out}")


def run_warnings(results: dict[str, Any], out: Path) -> list[str]:
    """One line per task whose numbers are not what the benchmark defines: questions that lost
    few-shot examples to fit the context (records whose ``shots`` < ``max_shots``) and items that failed,
    with how many of how many and the first reason."""
    context = results.get("model", {}).get("max_length")
    lines = []
    for name, entry in results["tasks"].items():
        items = entry.get("items", [])
        parts = []
        cut = [r for r in items if isinstance(r.get("shots"), int) and r["shots"] < r.get("max_shots", 0)]
        if cut:
            kept = sum(r["shots"] for r in cut) / len(cut)
            fit = f"{context} tokens" if context else "the context"
            parts.append(
                f"{len(cut)} of {len(items)} questions lost shots to fit {fit} "
                f"({kept:.1f} of {cut[0]['max_shots']} kept on average)"
            )
        failures = entry.get("failures", [])
        if failures:
            first = " ".join(str(failures[0].get("reason", "")).split())
            first = first if len(first) <= 300 else first[:297] + "..."  # a judge's reason may quote its text
            failed = f"{len(failures)} item{'s' if len(failures) > 1 else ''} failed"
            parts.append(f"{failed}, first {failures[0].get('id')}: {first} (all under 'failures' in {out})")
        if parts:
            lines.append(f"warning: {name}: " + "; ".join(parts))
    return lines


def split_task_options(tasks: list[tuple[str, Any]], given: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``--task-option`` values per task: each key goes to every task whose options dataclass has it, checked
    there (unset ``None`` fields left out); a key no task in the run takes is one line naming the allowed keys."""
    import dataclasses

    from ru_llm.core.errors import ConfigError
    from ru_llm.core.options import config_from_mapping
    from ru_llm.eval.task import TakesOptions

    fields = {name: [f.name for f in dataclasses.fields(task.options_type)] for name, task in tasks
              if isinstance(task, TakesOptions)}  # fmt: skip
    for key in given:
        if not any(key in names for names in fields.values()):
            allowed = "; ".join(f"{name}: {', '.join(names)}" for name, names in fields.items())
            raise ConfigError(
                f"--task-option {key}: no task in this run takes {key!r}",
                hint=f"allowed: {allowed}" if allowed else f"none of {', '.join(n for n, _ in tasks)} takes options",
            )
    options: dict[str, dict[str, Any]] = {}
    for name, task in tasks:
        if name not in fields:
            continue
        mine = {k: v for k, v in given.items() if k in fields[name]}
        checked = config_from_mapping(task.options_type, mine, where=f"--task-option ({name})")
        options[name] = {k: v for k, v in dataclasses.asdict(checked).items() if v is not None}
    return options
