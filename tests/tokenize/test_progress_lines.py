"""`tokenize extend/replace/train` say what they are doing when their output is a pipe, not only on a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from ru_llm.tokenize.commands.output import with_progress


def test_off_a_terminal_reading_and_learning_are_plain_lines(monkeypatch) -> None:
    monkeypatch.setenv("RU_LLM_PROGRESS_SECONDS", "0.1")
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    texts = [(f"текст {i}", 1.0) for i in range(20_000)]
    with console.status("checking the corpus") as status:
        assert list(with_progress(iter(texts), status)) == texts
    lines = out.getvalue().splitlines()
    assert lines[-1] == "learning the vocabulary from 20,000 texts (0.2M characters)"
    assert all("\x1b" not in line for line in lines)
