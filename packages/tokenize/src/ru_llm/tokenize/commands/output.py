"""What the tokenize commands share on the terminal: corpus help, corpus progress, report tables and JSON.

Only the standard library at the top: the command modules import this while ``ru-llm --help`` is built.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

CORPUS_HELP = (
    "wordfreq:ru, a UTF-8 text file, a directory of *.txt, or hf:DATASET[?config=C&split=S&column=text&limit=N] "
    "(a hub id or local dataset dir); repeat to combine; append @WEIGHT to scale one (e.g. train.txt@10)."
)


def check_add(add: int) -> None:
    """``--add``: how many new tokens to learn (``extend``, ``optimize``), checked before any reading."""
    from ru_llm.core.errors import ConfigError
    from ru_llm.tokenize.bpe.extend import MAX_NEW_TOKENS

    if not 1 <= add <= MAX_NEW_TOKENS:
        raise ConfigError(
            f"--add {add}: must be between 1 and {MAX_NEW_TOKENS:,}",
            hint="pass the number of new tokens to learn, e.g. --add 48000",
        )


def with_progress(texts: Iterable[tuple[str, float]], status: Any) -> Iterator[tuple[str, float]]:
    """``texts`` unchanged, with a rich ``status`` line counting them and saying when learning starts.

    Off a terminal (a pipe, a CI log) rich's status draws nothing, so the same news comes as plain lines:
    the reading count every ``RU_LLM_PROGRESS_SECONDS`` (30) seconds, and the start of learning."""
    import time

    from ru_llm.core.progress import progress_interval

    console = getattr(status, "console", None)
    plain = console is not None and not console.is_terminal
    every, last = progress_interval(), time.monotonic()

    def say(message: str, *, force: bool = False) -> None:
        nonlocal last
        status.update(message)
        if plain and (force or time.monotonic() - last >= every):
            console.print(message, highlight=False, markup=False, soft_wrap=True)
            last = time.monotonic()

    read = characters = 0
    for text, weight in texts:
        yield text, weight
        read += 1
        characters += len(text)
        if read % 10_000 == 0 or len(text) > 100_000:
            say(f"reading the corpus: {read:,} texts, {characters / 1e6:,.1f}M characters")
    say(f"learning the vocabulary from {read:,} texts ({characters / 1e6:,.1f}M characters)", force=True)


def short_list(items: list[str], shown: int = 4) -> str:
    """The first few items, and how many more there are (LLaMA-3 has 256 special tokens)."""
    head = ", ".join(items[:shown]) or "-"
    return head + (f" and {len(items) - shown} more" if len(items) > shown else "")


def print_report(
    data: dict[str, Any], *, as_json: bool, title: str, rows: list[tuple[str, str]], footer: str | None = None
) -> None:
    """``data`` as JSON on stdout with ``--json``; otherwise a two-column rich table (and a line) on stderr."""
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    console = Console(stderr=True)
    console.print(table)
    if footer:
        console.print(footer)
