"""`ru-llm translate file --backend openai` never shows the key, even when the server echoes it in an error;
the default cache follows ``$XDG_CACHE_HOME``."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from kit.fake_mt import TABLE, register_fake
from kit.openai_server import FakeOpenAI, Reply, Request, chat_reply, echo_key_401
from kit.train_data import one_line_error
from typer.testing import CliRunner

from ru_llm.cli.app import build_app
from ru_llm.core import conversation, write_jsonl

SECRET = "sk-live-5e2a77c1-translate-never-shows"


def transliterate(request: Request) -> Reply:
    """A "translation" the checks pass: the text between the prompt's <text> tags in Cyrillic letters."""
    text = request["body"]["messages"][-1]["content"].split("<text>\n", 1)[1].rsplit("\n</text>", 1)[0]
    return chat_reply(text.translate(TABLE))


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    running = FakeOpenAI()
    running.default = transliterate
    yield running
    running.close()


def run(*args: object, **env: str | None):  # type: ignore[no-untyped-def]
    environment = {"COLUMNS": "200", "OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": None, **env}
    return CliRunner().invoke(build_app(), [str(a) for a in args], env=environment)


def sample(path: Path) -> Path:
    convs = [conversation(f"s{i}", [("user", f"Question {i}: is it raining?"), ("assistant", f"Answer {i}: no.")],
                          source="mine", lang="en", license="Apache-2.0") for i in range(3)]  # fmt: skip
    write_jsonl(path, convs)
    return path


def _everything_written(root: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_a_server_echoing_the_key_in_a_401_never_gets_it_shown_or_written(server: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    src, written = sample(tmp_path / "in" / "src.jsonl"), tmp_path / "written"
    args = ["translate", "file", src, "--backend", "openai", "--model", "tiny-chat", "--out", written / "out.jsonl",
            "--cache", written / "c.sqlite", "--backend-option", f"base_url={server.url}",
            "--backend-option", "backoff=0"]  # fmt: skip
    ok = run(*args)  # the server answers: the output, report and cache hold translations and no key
    assert ok.exit_code == 0, ok.output
    assert "Куестион 0: ис ит раининг?" in (written / "out.jsonl").read_text(encoding="utf-8")
    assert all(r["headers"]["Authorization"] == f"Bearer {SECRET}" for r in server.requests)

    server.default = echo_key_401
    refused = run(*args[:-4], "--cache", written / "other.sqlite", *args[-4:])
    line = one_line_error(refused)
    assert "HTTP 401" in line and "Incorrect API key provided: Bearer ***" in line and "$OPENAI_API_KEY" in line
    debug = run(*args[:-4], "--cache", written / "debug.sqlite", *args[-4:], RU_LLM_DEBUG="1")
    shown = "".join(traceback.format_exception(debug.exception))  # every chained cause included
    assert "HTTP 401" in shown and "Bearer ***" in shown
    for text in (ok.output, refused.output, debug.output, shown):
        assert SECRET not in text and SECRET.removeprefix("sk-") not in text
    assert len(list(written.iterdir())) >= 5  # out, rejects, report, the caches
    assert SECRET.encode() not in _everything_written(written)
    assert server.requests[-1]["headers"]["Authorization"] == f"Bearer {SECRET}"  # it was sent, and echoed


def test_the_default_cache_is_under_xdg_cache_home(tmp_path: Path, plugin_manager) -> None:  # type: ignore[no-untyped-def]
    register_fake(plugin_manager)
    src = sample(tmp_path / "src.jsonl")
    args = ["translate", "file", src, "--backend", "fake", "--out", tmp_path / "out.jsonl"]
    result = run(*args, XDG_CACHE_HOME=str(tmp_path / "xdg"), RU_LLM_CACHE_DIR=None, HF_HUB_OFFLINE="1")
    assert result.exit_code == 0, result.output
    cache = tmp_path / "xdg" / "ru-llm" / "translate.sqlite"
    assert cache.is_file() and cache.stat().st_size > 0
    again = run(*args, RU_LLM_CACHE_DIR=str(tmp_path / "mine"), HF_HUB_OFFLINE="1")  # the user's own place wins
    assert again.exit_code == 0, again.output
    assert (tmp_path / "mine" / "translate.sqlite").is_file()
