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
    model: Annotated[str, typer.Option("--model", "-m", help="Model directory or hub id.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results JSON file.")],
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
        str | None, typer.Option(help="--model openai:NAME: the OpenAI-compatible server's URL (…/v1).")
    ] = None,
    judge_model: Annotated[str | None, typer.Option(help="mt_bench*: the judge model's name on its server.")] = None,
    judge_base_url: Annotated[
        str | None, typer.Option(help="mt_bench*: the judge's OpenAI-compatible URL (…/v1).")
    ] = None,
    judge_api_key_env: Annotated[
        str, typer.Option(help="mt_bench*: the environment variable holding the judge's key.")
    ] = "OPENAI_API_KEY",
    judge_concurrency: Annotated[int, typer.Option(min=1, help="mt_bench*: concurrent server calls.")] = 8,
    judge_timeout: Annotated[float, typer.Option(min=0.1, help="mt_bench*: seconds per server call.")] = 120.0,
    preset: Annotated[
        str, typer.Option(help="mt_bench*: answer generation, greedy, paper or fastchat (per-category temperatures).")
    ] = "greedy",
    cache_dir: Annotated[
        Path | None, typer.Option(help="mt_bench*: answer and judgment caches (default $XDG_CACHE_HOME/ru-llm).")
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="mt_bench*: judge pairwise against this model's answers (--data DIR/model_answer/NAME.jsonl)."
        ),
    ] = None,
) -> None:
    """Evaluate a model on tasks and write one results JSON (per-item records included; reruns resume)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from ru_llm.core.errors import ConfigError
    from ru_llm.eval.lm_eval_bridge import PREFIX, LMEvalTask
    from ru_llm.eval.models.hf import ModelSettings
    from ru_llm.eval.registry import get_task
    from ru_llm.eval.report import terminal_table
    from ru_llm.eval.run import evaluate
    from ru_llm.eval.task import TaskSettings

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
    check_model_paths(model, adapter)
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
    )
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
        options=_judged_options(
            names, base_url, judge_model, judge_base_url, judge_api_key_env, judge_concurrency, judge_timeout,
            preset, cache_dir, baseline,
        ),
    )  # fmt: skip
    console = Console(stderr=True)
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

        results = evaluate(resolved, model_settings, settings, out, progress=progress, data=per_task)
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


def _judged_options(
    names: list[str],
    base_url: str | None,
    judge_model: str | None,
    judge_base_url: str | None,
    judge_api_key_env: str,
    concurrency: int,
    timeout: float,
    preset: str,
    cache_dir: Path | None,
    baseline: str | None = None,
) -> dict[str, Any]:
    """The judged benchmarks' settings (names only: the keys stay in the environment); none for other tasks."""
    if not any(name.startswith("mt_bench") for name in names):
        return {}
    options: dict[str, Any] = {
        "judge_model": judge_model,
        "judge_base_url": judge_base_url,
        "judge_api_key_env": judge_api_key_env,
        "preset": preset,
        "concurrency": concurrency,
        "timeout": timeout,
    }
    if base_url:
        options["base_url"] = base_url
    if cache_dir:
        options["cache_dir"] = str(cache_dir)
    if baseline:
        options["baseline"] = baseline
    return options


def check_model_paths(model: str, adapter: str | None) -> None:
    """``--model`` and ``--adapter`` checked on disk before torch or transformers is imported."""
    from pathlib import Path

    from ru_llm.core.errors import ConfigError
    from ru_llm.core.hf import check_model_source

    if model.startswith("openai:"):
        return
    check_model_source(model, what="--model")
    if adapter is not None:
        path = Path(adapter).expanduser()
        if not path.is_dir():
            hint = "give the directory `ru-llm train run` wrote"
            raise ConfigError(f"--adapter {adapter}: no such directory", hint=hint)
        if not (path / "adapter_config.json").is_file():
            raise ConfigError(
                f"--adapter {adapter}: no adapter_config.json, so not a peft adapter",
                hint="a merged or full model is passed as --model instead",
            )
