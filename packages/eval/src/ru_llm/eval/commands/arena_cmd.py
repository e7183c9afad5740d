"""`ru-llm eval arena --data DIR --baseline NAME --judge-model NAME --judge-base-url URL --out arena.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer


def arena_command(
    data: Annotated[
        Path,
        typer.Option(help="Arena-Hard's / FastChat's layout: question.jsonl and model_answer/NAME.jsonl per model."),
    ],
    baseline: Annotated[str, typer.Option(help="The answer set every model is judged against (model_answer/NAME).")],
    judge_model: Annotated[str, typer.Option(help="The judge model's name on its server.")],
    judge_base_url: Annotated[str, typer.Option(help="The judge's OpenAI-compatible URL (…/v1).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results JSON (leaderboard, games, failures).")],
    models: Annotated[
        str | None, typer.Option(help="Answer sets to judge, comma-separated (default: all but the baseline).")
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(help="A model that answers the questions here too: DIR or openai:NAME (repeatable)."),
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="--model openai:NAME: the server's URL (…/v1).")] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option(min=1, help="--model: tokens per answer (default 4096, as Arena-Hard).")
    ] = None,
    device: Annotated[str, typer.Option(help="--model DIR: auto, cpu, cuda, cuda:N or mps.")] = "auto",
    dtype: Annotated[str, typer.Option(help="--model DIR: auto, bf16, fp16 or fp32.")] = "auto",
    judge_api_key_env: Annotated[
        str, typer.Option(help="The environment variable holding the judge's key.")
    ] = "OPENAI_API_KEY",
    judge_prompt: Annotated[
        Path | None,
        typer.Option(
            help="JSON with system_prompt and prompt_template ({question_1}, {answer_1}, {answer_2}); "
            "default: Arena-Hard-Auto v0.1's."
        ),
    ] = None,
    judge_concurrency: Annotated[int, typer.Option(min=1, help="Concurrent server calls.")] = 8,
    judge_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per server call.")] = 120.0,
    weight: Annotated[int, typer.Option(min=1, help="Battles a strong verdict ([[A>>B]]) counts as.")] = 3,
    bootstrap_rounds: Annotated[int, typer.Option(min=0, help="Bootstrap refits for the 95% intervals.")] = 100,
    bootstrap_unit: Annotated[
        str, typer.Option(help="What the bootstrap resamples: battle (as Arena-Hard) or question.")
    ] = "battle",
    seed: Annotated[int, typer.Option(help="The bootstrap's random seed.")] = 42,
    limit: Annotated[int | None, typer.Option(min=1, help="Judge the first N questions only.")] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Answer and judgment caches (default $XDG_CACHE_HOME/ru-llm).")
    ] = None,
) -> None:
    """Arena-style pairwise evaluation: every model's answers judged against a baseline's in both orders,
    Bradley-Terry scores, win rates with bootstrap 95% intervals, a leaderboard."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ru_llm.core.errors import ConfigError
    from ru_llm.core.jsonl import atomic_open
    from ru_llm.core.openai_http import check_reachable, server_auth
    from ru_llm.eval.judges.arena import AnswerSettings, ArenaSettings, load_questions, run_arena

    if bootstrap_unit not in ("battle", "question"):
        raise ConfigError(f"--bootstrap-unit {bootstrap_unit!r}: expected battle or question")
    if dtype not in ("auto", "bf16", "fp16", "fp32"):
        raise ConfigError(f"--dtype {dtype!r}: expected auto, bf16, fp16 or fp32")
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a directory", hint="give a file name such as arena.json")
    if not data.is_dir():
        raise ConfigError(f"--data {data}: no such directory", hint="a folder with question.jsonl and model_answer/")
    load_questions(data)  # a malformed question file stops here, before any model loads or call is made
    for spec in model or []:
        if not spec.startswith("openai:") and not Path(spec).is_dir():
            raise ConfigError(f"--model {spec}: no such directory", hint="a model directory, or openai:NAME")
        if spec.startswith("openai:") and not base_url:
            raise ConfigError(f"--model {spec}: needs --base-url URL (an OpenAI-compatible server)")
    server_auth(judge_base_url, judge_api_key_env, what="--judge-model", required=True)
    check_reachable(judge_base_url, what="--judge-base-url")
    if base_url and any(s.startswith("openai:") for s in model or []):
        check_reachable(base_url, what="--base-url")
    settings = ArenaSettings(
        data=data, baseline=baseline, judge_model=judge_model, judge_base_url=judge_base_url,
        judge_key_env=judge_api_key_env, models=tuple(m.strip() for m in (models or "").split(",") if m.strip()),
        judge_prompt=judge_prompt, weight=weight, rounds=bootstrap_rounds, unit=bootstrap_unit, seed=seed,
        concurrency=judge_concurrency, timeout=judge_timeout, cache_dir=cache_dir, limit=limit,
    )  # fmt: skip
    answering = tuple(
        AnswerSettings(
            spec,
            base_url=base_url,  # its key, when it needs one: OPENAI_API_KEY (as eval run's --base-url)
            max_new_tokens=max_new_tokens,
            device=device,
            dtype=dtype,
            concurrency=judge_concurrency,
            timeout=judge_timeout,
        )
        for spec in model or []
    )
    console = Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:

        def progress(name: str, total: int):  # type: ignore[no-untyped-def]
            task_id = bar.add_task(name, total=total)
            return lambda n: bar.advance(task_id, n)

        results = run_arena(settings, answering, progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out) as fh:
        fh.write(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    Console().print(leaderboard_table(results))
    if results["failures"]:
        console.print(f"[yellow]{len(results['failures'])} games or answers failed[/] (reasons under 'failures' "
                      f"in {out})")  # fmt: skip
    console.print(f"results: {out}")


def leaderboard_table(results: dict[str, Any]) -> Any:
    """The leaderboard as Arena-Hard prints it: score (the win rate against the baseline, in %) and its 95%
    interval, plus the rating, the battles and the failed games."""
    from rich.table import Table

    table = Table(title=f"arena: against {results['baseline']}, judged by {results['judge']['model']}")
    for column, justify in (("#", "right"), ("model", "left"), ("score", "right"), ("95% CI", "right"),
                            ("rating", "right"), ("battles W/T/L", "right"), ("failed games", "right"),
                            ("avg chars", "right")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for rank, row in enumerate(results["leaderboard"], 1):
        if row["win_rate"] is None:
            table.add_row(str(rank), row["model"], "—", "—", "—", "0", str(row["judge_failures"]), "—")
            continue
        score = 100 * row["win_rate"]
        interval = f"({100 * row['ci_low'] - score:+.1f}, {100 * row['ci_high'] - score:+.1f})"
        battles = f"{row['wins']}/{row['ties']}/{row['losses']}"
        chars = "—" if row.get("avg_answer_chars") is None else f"{row['avg_answer_chars']:.0f}"
        table.add_row(str(rank), row["model"], f"{score:.1f}", interval, f"{row['rating']:.0f}", battles,
                      str(row["judge_failures"]), chars)  # fmt: skip
    return table
