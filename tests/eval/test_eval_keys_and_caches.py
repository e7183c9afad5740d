"""Eval's server calls never show a key, even when a server echoes the ``Authorization`` header in its error
(``HTTP 401: Incorrect API key provided: Bearer sk-...``); its append-only caches survive a cut line."""

from __future__ import annotations

import base64
import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kit.openai_server import FakeOpenAI, Reply, Request, chat_reply, echo_key_401
from kit.train_data import one_line_error

DATA = Path(__file__).resolve().parent.parent / "data" / "mt_bench"
JUDGE_KEY = "sk-judge-0c8e41d2-never-shown"
ANSWER_KEY = "sk-answer-93ab5f07-never-shown"
JUDGE_ENV = "RU_LLM_TEST_JUDGE_KEY"


def judge(request: Request) -> Reply:
    return chat_reply("Fine.\nRating: [[8]]")


@pytest.fixture
def servers() -> Iterator[tuple[FakeOpenAI, FakeOpenAI]]:
    answers, judges = FakeOpenAI(), FakeOpenAI()
    judges.default = judge
    yield answers, judges
    answers.close()
    judges.close()


def _cli(*args: Any, **env: str | None):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ru_llm.cli.app import build_app

    environment = {"COLUMNS": "200", JUDGE_ENV: JUDGE_KEY, "OPENAI_API_KEY": ANSWER_KEY, **env}
    return CliRunner().invoke(build_app(), [str(a) for a in args], prog_name="ru-llm", env=environment)


def _args(answers: FakeOpenAI, judges: FakeOpenAI, out: Path) -> list[Any]:
    run = ["eval", "run", "mt_bench", "--model", "openai:answerer", "--base-url", answers.url]
    judge = {
        "judge_model": "judge",
        "judge_base_url": judges.url,
        "judge_api_key_env": JUDGE_ENV,
        "cache_dir": out / "cache",
    }
    options = [part for key, value in judge.items() for part in ("--task-option", f"{key}={value}")]
    return [*run, *options, "--data", DATA / "en", "--limit", "1", "--out", out / "r.json"]


def _written(root: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("echoing", ["judge", "answers"])
def test_a_server_echoing_the_key_in_a_401_never_gets_it_shown_or_written(
    servers: tuple[FakeOpenAI, FakeOpenAI], tmp_path: Path, echoing: str
) -> None:
    answers, judges = servers
    out = tmp_path / "run"
    assert _cli(*_args(answers, judges, out)).exit_code == 0  # a run that works, so caches and results exist
    (out / "cache").rename(out / "cache-before")
    (judges if echoing == "judge" else answers).default = echo_key_401

    refused = _cli(*_args(answers, judges, out))
    line = one_line_error(refused)
    flag = "judge_base_url" if echoing == "judge" else "--base-url"
    assert line.startswith(f"Error: {flag} http://127.0.0.1:")
    assert "HTTP 401: Incorrect API key provided: Bearer ***" in line
    debug = _cli(*_args(answers, judges, out), RU_LLM_DEBUG="1")
    shown = "".join(traceback.format_exception(debug.exception))  # the full traceback, every cause
    assert "Bearer ***" in shown
    sent = {r["headers"].get("Authorization") for r in (judges if echoing == "judge" else answers).requests}
    assert sent == {f"Bearer {JUDGE_KEY if echoing == 'judge' else ANSWER_KEY}"}  # sent, echoed, never shown
    everything = "\n".join([refused.output, debug.output, shown, _written(tmp_path)])
    for key in (JUDGE_KEY, ANSWER_KEY):
        assert key not in everything and key.removeprefix("sk-") not in everything
    assert json.loads((out / "r.json").read_text(encoding="utf-8"))["tasks"]["mt_bench"]["metrics"]["turn1"] == 8


def test_retries_are_logged_without_the_key(
    servers: tuple[FakeOpenAI, FakeOpenAI], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from ru_llm.eval.models.hf import ModelSettings
    from ru_llm.eval.run import evaluate
    from ru_llm.eval.task import TaskSettings
    from ru_llm.eval.tasks.mt_bench import MT_BENCH

    answers, judges = servers
    monkeypatch.setenv("OPENAI_API_KEY", JUDGE_KEY)
    busy = lambda r: (503, {"Retry-After": "0"}, {"error": {"message": f"busy, {r['headers']['Authorization']}"}})  # noqa: E731
    judges.script = [busy, busy]
    caplog.set_level(logging.INFO)
    options = {"judge_model": "judge", "judge_base_url": judges.url, "retry_backoff": 0.0,
               "cache_dir": str(tmp_path / "cache"), "concurrency": 1}  # fmt: skip
    settings = TaskSettings(data=str(DATA / "en"), limit=1, options=options)
    result = evaluate(
        [("mt_bench", MT_BENCH)], ModelSettings("openai:answerer", base_url=answers.url), settings, tmp_path / "r.json"
    )
    task = result["tasks"]["mt_bench"]
    assert task["metrics"]["turn1"] == 8 and task["calls"]["judge"]["retried"] == 2
    assert caplog.text.count("HTTP 503 (busy, Bearer ***); retry") == 2
    assert JUDGE_KEY not in caplog.text + _written(tmp_path)


def test_a_cut_partial_line_is_skipped_and_the_next_record_gets_its_own_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ru_llm.eval.run import item_cache

    path = tmp_path / "r.json.partial.jsonl"
    cache = item_cache(path)
    cache.put("settings-1", {"id": "q1", "score": 1.0})
    cache.put("settings-1", {"id": "q2", "score": 0.0})
    with path.open("ab") as fh:  # a kill in the middle of the third record
        fh.write(b'{"key": "settings-1", "record": {"id": "q3", "sco')

    resumed = item_cache(path)
    assert resumed.skipped == 1 and "skipped 1 cut or unreadable line" in caplog.text
    assert resumed.get(("settings-1", "q3")) is None  # evaluated again...
    resumed.put("settings-1", {"id": "q3", "score": 1.0})  # ...and appended on a line of its own
    resumed.put("settings-2", {"id": "q1", "score": 0.5})

    final = item_cache(path)
    records = {k: final.get(k) for k in [("settings-1", "q1"), ("settings-1", "q2"), ("settings-1", "q3"),
                                         ("settings-2", "q1")]}  # fmt: skip
    assert [r["score"] for r in records.values()] == [1.0, 0.0, 1.0, 0.5]
    assert final.skipped == 1 and path.read_bytes().endswith(b"\n")


def test_mt_bench_caches_take_a_cut_line_and_go_on(servers: tuple[FakeOpenAI, FakeOpenAI], tmp_path: Path) -> None:
    answers, judges = servers
    out = tmp_path / "run"
    assert _cli(*_args(answers, judges, out)).exit_code == 0
    judgments = out / "cache" / "mt_bench" / "judgments.jsonl"
    whole = judgments.read_bytes().splitlines(keepends=True)
    judgments.write_bytes(b"".join(whole[:-1]) + whole[-1][:40])  # the last judgment cut by a kill
    calls = len(judges.requests)
    again = _cli(*_args(answers, judges, out))
    assert again.exit_code == 0, again.output
    assert len(judges.requests) == calls + 1  # only the cut judgment is asked again
    lines = judgments.read_bytes().splitlines()
    assert len(lines) == len(whole) + 1 and all(json.loads(line) for line in lines[:-2] + lines[-1:])
    assert len(answers.requests) == 2  # the answers were all cached


def test_credentials_in_a_server_url_are_not_written_to_the_results(
    servers: tuple[FakeOpenAI, FakeOpenAI], tmp_path: Path
) -> None:
    answers, judges = servers
    secret_url = judges.url.replace("http://", "http://judge-user:url-secret-7f3a@") + "?token=query-secret-91b2"
    out = tmp_path / "run"
    args = [str(a) for a in _args(answers, judges, out)]
    args[args.index(f"judge_base_url={judges.url}")] = f"judge_base_url={secret_url}"
    args += ["--task-option", "retry_backoff=0"]  # the failed judge calls' messages are checked, not their waits
    # a judge key as well: the one Authorization header cannot carry both, so the run refuses before any call
    refused = _cli(*args)
    assert refused.exit_code == 1 and "credentials in the URL and an API key" in refused.output
    assert "url-secret-7f3a" not in refused.output and not judges.requests
    done = _cli(*args, **{JUDGE_ENV: None})
    assert done.exit_code == 0, done.output
    # the URL's user and password reach the judge as HTTP Basic authentication, the host stays 127.0.0.1
    assert judges.requests and {r["headers"].get("Authorization") for r in judges.requests} == {
        "Basic " + base64.b64encode(b"judge-user:url-secret-7f3a").decode()
    }
    results = json.loads((out / "r.json").read_text(encoding="utf-8"))
    assert results["settings"]["judge_base_url"] == judges.url.rstrip("/")
    for secret in ("url-secret-7f3a", "query-secret-91b2"):
        assert secret not in (out / "r.json").read_text(encoding="utf-8")


def test_a_local_models_per_item_cache_key_is_the_one_older_versions_wrote(tmp_path: Path) -> None:
    """The model kinds added settings (kind, base_url, concurrency, ...): at their defaults they are left out
    of the key, so an ``OUT.partial.jsonl`` written before them is still reused."""
    import hashlib
    from dataclasses import asdict

    from ru_llm.eval.model import ModelSettings
    from ru_llm.eval.run import settings_key
    from ru_llm.eval.task import TaskSettings

    model = ModelSettings(str(tmp_path / "model"), device="cpu", batch_size=4, prefix_cache=False)
    settings = TaskSettings(data="mmlu/", shots=5, subjects=("anatomy",))
    before = {"model": str(tmp_path / "model"), "adapter": None, "device": "cpu", "dtype": "auto", "batch_size": 4,
              "max_length": None, "add_bos": None, "chat_template": False, "trust_remote_code": False}  # fmt: skip
    blob = json.dumps({"task": "mmlu", "model": before, "settings": asdict(settings), "data": "abc", "weights": None,
                       "adapter": None}, sort_keys=True, default=str)  # fmt: skip
    assert settings_key("mmlu", model, settings, "abc") == hashlib.sha256(blob.encode()).hexdigest()[:16]
    served = ModelSettings("tiny", kind="openai-completions", base_url="http://127.0.0.1:8000/v1")
    assert settings_key("mmlu", served, settings, "abc") != settings_key("mmlu", model, settings, "abc")
    faster = ModelSettings("tiny", kind="openai-completions", base_url="http://127.0.0.1:8000/v1", concurrency=32)
    assert settings_key("mmlu", faster, settings, "abc") == settings_key("mmlu", served, settings, "abc")
