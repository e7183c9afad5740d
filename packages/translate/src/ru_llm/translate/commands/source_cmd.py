"""`ru-llm translate file IN` and `ru-llm translate NAME` (every dataset builder): translate one source."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from ru_llm.core.cache import cache_root
from ru_llm.core.errors import ConfigError, RuLLMError
from ru_llm.core.options import parse_device, parse_key_values
from ru_llm.translate.commands.hub import offline_if_unreachable

OFFLINE_HINT = "offline? pass --source PATH for the data and --model DIR for a local MT model"


def default_cache() -> Path:
    """``translate.sqlite`` under :func:`~ru_llm.core.cache.cache_root` (``$XDG_CACHE_HOME/ru-llm``): shared by
    every run."""
    return cache_root() / "translate.sqlite"


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``i/N`` (1-based, as users count) -> ``(i - 1, N)``; default from RANK/WORLD_SIZE (torchrun)."""
    if value is None:
        world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        return (int(os.environ.get("RANK", "0") or 0), world) if world > 1 else None
    index, sep, count = value.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = 0
    if not sep or n < 1 or not 1 <= i <= n:
        raise ConfigError(f"--shard {value!r}: expected i/N with 1 <= i <= N, e.g. 2/4")
    return (i - 1, n) if n > 1 else None


def translate_source(
    name: str,
    *,
    source: Path | None,
    out: Path | None,
    backend: str,
    model: str | None,
    rejects: Path | None,
    cache: Path | None,
    limit: int | None,
    keep_original: bool,
    shard: str | None,
    batch_tokens: int,
    device: str | None,
    option: list[str] | None,
    backend_option: list[str] | None,
    check: list[str] | None = None,
    report: Path | None = None,
) -> None:
    """Load a source with its dataset builder, translate it, write conversations, rejects and a report."""
    from itertools import islice

    from rich.console import Console

    from ru_llm.core.jsonl import JsonlWriter, RejectsWriter
    from ru_llm.dataset.builders.base import LoadStats
    from ru_llm.dataset.registry import get_dataset_builder
    from ru_llm.translate.cache import TranslationCache
    from ru_llm.translate.engine import EngineConfig, TranslationEngine
    from ru_llm.translate.registry import get_translator

    console = Console(stderr=True)
    builder = get_dataset_builder(name)
    mt = get_translator(backend)
    shard_spec = parse_shard(shard)
    if limit is not None and limit < 0:
        raise ConfigError(f"--limit must be 0 or more, got {limit}")
    if batch_tokens < 1:
        raise ConfigError(f"--batch-tokens must be at least 1, got {batch_tokens}")
    out = out or Path(f"{name}_ru.jsonl")
    rejects = rejects or out.with_name(out.name.removesuffix(".jsonl") + ".rejects.jsonl")
    config = EngineConfig(batch_tokens=batch_tokens, shard=shard_spec, checks=_checks(check))
    options = parse_key_values(backend_option, "--backend-option")
    if device:
        options["device"] = device
    if "device" in options:  # the one device rule, before any data is read; the backend says which it runs on
        where = "--device" if device else "--backend-option device"
        options["device"] = str(parse_device(options["device"], where=where))
    if not mt.commercial:
        console.print(f"[yellow]note: {mt.name} models are {mt.model_license}: not for commercial use[/]")
    stats = LoadStats()
    rejected: list[Any] = []  # written at the end, so a killed run leaves no half-written file
    model_name = model or mt.default_model
    model_from_hub = model_name is not None and not Path(model_name).expanduser().exists()
    with offline_if_unreachable(source is None or model_from_hub) as unreachable:
        note = f" [{unreachable} did not answer: only the local Hugging Face cache was tried]" if unreachable else ""
        try:
            conversations = list(
                islice(
                    builder.load(source, parse_key_values(option, "--option"), on_reject=rejected.append, stats=stats),
                    limit,
                )
            )
        except RuLLMError as e:
            raise RuLLMError(str(e) + ("" if source else note), hint=e.hint if source else OFFLINE_HINT) from e
        try:
            translator = mt.load(model, **options)
        except RuLLMError as e:
            raise RuLLMError(str(e) + (note if model_from_hub else ""), hint=e.hint if model else OFFLINE_HINT) from e
    try:
        store = TranslationCache(cache or default_cache(), {"backend": mt.name, "model": translator.model_id,
                                                          **config.settings()})  # fmt: skip
        engine = TranslationEngine(translator, store, config, backend_name=mt.name, backend_commercial=mt.commercial)
        translated = _translate(engine, conversations, rejected, console)
    finally:
        translator.close()
    if shard_spec is None:
        with JsonlWriter(out) as writer:
            for original, conv in translated:
                if keep_original:
                    writer.write(original)
                writer.write(conv)
        with RejectsWriter(rejects) as rejects_file:
            for reject in rejected:
                rejects_file(reject)
    _summary(console, name, stats, engine, out, rejects, shard_spec)
    report = report or out.with_name(out.name.removesuffix(".jsonl") + ".report.json")
    _write_report(report, name, source, mt.name, translator.model_id, config, stats, engine)


def _checks(pairs: list[str] | None) -> Any:
    """``--check KEY=VALUE`` thresholds over the defaults, checked once: errors name the key and the allowed ones."""
    from ru_llm.translate.checks import CheckConfig

    return CheckConfig.from_dict(parse_key_values(pairs, "--check"), where="--check")


def _write_report(path: Path, name: str, source: Path | None, backend: str, model_id: str, config: Any,
                  load_stats: Any, engine: Any) -> None:  # fmt: skip
    """The machine-readable summary: counts, thresholds and decoding, so a run can be audited later."""
    from ru_llm.core.jsonl import atomic_open

    data = {
        "source": name,
        "source_path": str(source) if source else None,
        "backend": backend,
        "model": model_id,
        "rows_read": load_stats.rows,
        "rejected_while_loading": load_stats.rejected,
        **engine.stats.to_dict(),
        **config.settings(),
        "shard": list(config.shard) if config.shard else None,
    }
    with atomic_open(path) as f:
        f.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _translate(engine: Any, conversations: list, rejected: list, console: Any) -> list:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from ru_llm.core.progress import make_progress

    columns = (TextColumn("translating"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.speed} seg/s"),
               TimeRemainingColumn())  # fmt: skip
    with make_progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("segments", total=None)
        engine.progress = lambda done, total: progress.update(task, completed=done, total=total)
        return list(engine.run_pairs(conversations, on_reject=rejected.append))


def _summary(console: Any, name: str, stats: Any, engine: Any, out: Path, rejects: Path, shard: Any) -> None:
    from rich.table import Table

    s = engine.stats
    table = Table(title=f"ru-llm translate {name}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("count", justify="right")
    rows = [
        ("rows read", stats.rows),
        ("records in", s.records_in),
        ("records out", s.records_out),
        ("rejected while loading", stats.rejected),
        *((f"rejected: {flag}", n) for flag, n in s.rejected.most_common()),
        ("segments", s.segments),
        ("unique segments", s.unique_segments),
        ("translated now", s.translated),
        ("from the cache", s.cached),
        ("retried", s.retried),
        ("passed through (code, markup)", s.passed_through),
    ]
    if shard:
        rows.append(("left to other shards", s.other_shards))
    for label, count in rows:
        table.add_row(label, str(count))
    console.print(table)
    if shard:
        console.print(
            f"shard {shard[0] + 1}/{shard[1]} done: its translations are in the cache; run without --shard "
            "(after `ru-llm translate merge` if the caches are separate files) to write the output"
        )
    else:
        console.print(f"records in {s.records_in} = out {s.records_out} + rejected "
                      f"{s.records_in - s.records_out} -> {out} (rejects: {rejects})")  # fmt: skip


def make_command(target: typer.Typer, name: str, help: str, needs_input: bool) -> None:
    """The command that translates one source; ``file`` takes the input file as an argument."""

    def command(
        input_path: Annotated[
            Path | None, typer.Argument(help="Input file (file source only).", show_default=False)
        ] = None,
        source: Annotated[Path | None, typer.Option(help="Local file or directory instead of the hub.")] = None,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Output JSONL (default NAME_ru.jsonl).")] = None,
        backend: Annotated[str, typer.Option(help="MT backend (`ru-llm translate backends`).")] = "wmt21",
        model: Annotated[str | None, typer.Option(help="Model hub id or local directory.")] = None,
        rejects: Annotated[Path | None, typer.Option(help="Rejects file (default OUT.rejects.jsonl).")] = None,
        cache: Annotated[
            Path | None, typer.Option(help="SQLite cache (default $XDG_CACHE_HOME/ru-llm/translate.sqlite).")
        ] = None,
        limit: Annotated[int | None, typer.Option(help="Translate only the first N records.")] = None,
        keep_original: Annotated[bool, typer.Option(help="Also write each English original.")] = False,
        shard: Annotated[
            str | None, typer.Option(help="Translate share i/N of the segments (default: RANK/WORLD_SIZE).")
        ] = None,
        batch_tokens: Annotated[int, typer.Option(help="Padded tokens per batch.")] = 8192,
        device: Annotated[
            str | None, typer.Option(help="cpu, cuda, cuda:N, mps or auto (ct2: no mps; default: the backend's).")
        ] = None,
        option: Annotated[list[str] | None, typer.Option("--option", help="Dataset builder option KEY=VALUE.")] = None,
        backend_option: Annotated[
            list[str] | None, typer.Option("--backend-option", help="Backend option KEY=VALUE.")
        ] = None,
        check: Annotated[
            list[str] | None, typer.Option("--check", help="Check threshold KEY=VALUE, e.g. min_cyrillic_share=0.6.")
        ] = None,
        report: Annotated[Path | None, typer.Option(help="JSON report (default OUT.report.json).")] = None,
        explain: Annotated[
            str | None,
            typer.Option(
                metavar="ID",
                help="Show how record ID would be segmented (sent, protected or kept, and why); translates nothing.",
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="With --explain: print JSON.")] = False,
    ) -> None:
        if needs_input:
            if input_path is None and source is None:
                raise ConfigError(
                    "`ru-llm translate file` needs the input file",
                    hint="ru-llm translate file IN.jsonl --out OUT.jsonl",
                )
            source = source or input_path
        elif input_path is not None:
            raise ConfigError(f"`ru-llm translate {name}` takes no file argument", hint="use --source PATH")
        if explain is not None:
            from ru_llm.translate.commands.explain_cmd import explain_command

            explain_command(name, explain, source=source, option=option, as_json=as_json)
            return
        if as_json:
            raise ConfigError("--json goes with --explain ID", hint=f"ru-llm translate {name} --explain ID --json")
        translate_source(
            name, source=source, out=out, backend=backend, model=model, rejects=rejects, cache=cache, limit=limit,
            keep_original=keep_original, shard=shard, batch_tokens=batch_tokens, device=device, option=option,
            backend_option=backend_option, check=check, report=report,
        )  # fmt: skip

    command.__doc__ = help
    target.command(name)(command)


def builder_command(name: str, builder: Any) -> Any:
    """The click command translating the source of the registered dataset builder ``name``."""
    where = builder.hub_id or "local files: --source PATH"
    about = builder.description or f"the {name} dataset"
    single = typer.Typer()
    make_command(single, name, f"Translate {about} ({where}; {builder.license}).", needs_input=False)
    command = typer.main.get_command(single)  # one command and no callback: the command itself
    command.name = name
    return command
