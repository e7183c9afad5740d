"""MT-Bench / ruMT-Bench with an LLM judge: a fake OpenAI-compatible server on 127.0.0.1 plays the answering
model and the judge; FastChat's prompts and score parsing; caches (a rerun makes no calls); the key never
written; bad input as one line."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kit.train_data import one_line_error

DATA = Path(__file__).resolve().parent.parent / "data" / "mt_bench"
MMLU_DATA = DATA.parent / "mmlu"
SECRET = "sk-test-DO-NOT-WRITE-7f3a9c"
KEY_ENV = "RU_LLM_TEST_JUDGE_KEY"
INVALID_JSON = "<<the server answers with bytes that are not JSON>>"


class FakeServer:
    """``/v1/chat/completions``: model ``answerer`` echoes the last user turn; model ``judge`` grades turn 1
    ``[[8]]`` and turn 2 ``Rating: [6]``; ``garbage`` and ``garbage_once`` hold substrings of first-turn prompts
    that get an unparsable judgment (always, or on the first call only); ``fail_first`` makes the first N calls 500s;
    ``delay`` sleeps before answering; ``scripted`` holds ``(substring, turn, reply)``: a judge prompt of that turn
    holding the substring gets the reply (:data:`INVALID_JSON`: a body that is not JSON)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.scripted: list[tuple[str, int, str]] = []
        self.garbage: set[str] = set()
        self.garbage_once: set[str] = set()
        self.fail_first = 0
        self.fail_judge = False
        self.delay = 0.0
        self.seen: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"body": body, "auth": self.headers.get("Authorization"), "path": self.path})
                if server.delay:
                    time.sleep(server.delay)
                if server.fail_judge and body["model"] == "judge":
                    self._send(503, {"error": {"message": "down"}})
                    return
                if server.fail_first > 0:
                    server.fail_first -= 1
                    self._send(500, {"error": {"message": "overloaded"}})
                    return
                content = server.reply(body)
                if content == INVALID_JSON:
                    self._send(200, None)
                    return
                self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})

            def _send(self, code: int, payload: dict[str, Any] | None) -> None:
                data = json.dumps(payload).encode() if payload is not None else b'{"choices": [{"index": 0, "mes'
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def reply(self, body: dict[str, Any]) -> str:
        messages = body["messages"]
        last = messages[-1]["content"]
        if body["model"] == "answerer":
            return f"Answer #{len(messages) // 2 + 1}: {last[:40]}"
        self.seen[last] = self.seen.get(last, 0) + 1
        for substring, turn, scripted in self.scripted:
            if substring in last and ("### User:" in last) == (turn == 2):
                return scripted
        if "two AI assistants" in messages[0]["content"]:  # pairwise: the answerer's answer wins, 81 says A always
            if "Compose an engaging" in last:
                return "Both fine. [[A]]"
            mine_first = "Assistant A's Answer]\nAnswer #" in last or "### Assistant A:\nAnswer #" in last
            return "[[A]]" if mine_first else "Verdict: [[B]]"
        if "### User:" in last:  # a second-turn prompt
            return "Rating: [6]"
        if any(s in last for s in self.garbage) or (any(s in last for s in self.garbage_once) and self.seen[last] == 1):
            return "I cannot decide."
        return "Fine.\nRating: [[8]]"

    def calls(self, model: str) -> int:
        return sum(1 for r in self.requests if r["body"]["model"] == model)


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    fake = FakeServer()
    fake.thread.start()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ru_llm.cli.app import build_app

    def run(*args: Any, env: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
        environment = {"COLUMNS": "200", KEY_ENV: SECRET, **(env or {})}
        return CliRunner().invoke(build_app(), [str(a) for a in args], prog_name="ru-llm", env=environment)

    return run


def _args(server: FakeServer, tmp_path: Path, task: str = "mt_bench", *extra: Any) -> list[Any]:
    options = {"judge_model": "judge", "judge_base_url": server.url, "judge_api_key_env": KEY_ENV,
               "cache_dir": tmp_path / "cache"}  # fmt: skip
    return ["eval", "run", task, "--model", "openai:answerer", "--base-url", server.url,
            *_options(**options), "--out", tmp_path / "r.json", *extra]  # fmt: skip


def _options(**values: Any) -> list[str]:
    return [part for key, value in values.items() for part in ("--task-option", f"{key}={value}")]


def _without(args: list[Any], key: str) -> list[Any]:
    """``args`` less the ``--task-option KEY=...`` pair."""
    i = next(i for i, a in enumerate(args) if str(a).startswith(f"{key}="))
    return args[: i - 1] + args[i + 1 :]


def _with(args: list[Any], key: str, value: Any) -> list[Any]:
    """``args`` with the ``--task-option KEY=...`` value replaced."""
    return [f"{key}={value}" if str(a).startswith(f"{key}=") else a for a in args]


def _every_file_text(*roots: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for root in roots for p in root.rglob("*") if p.is_file()
    )


# -- prompts and parsing ------------------------------------------------------------------------------------
def test_judge_prompts_render_as_the_fastchat_prompt_file() -> None:
    from ru_llm.eval.tasks.mt_bench import Question, judge_messages, judge_prompts, prompt_name

    reference = {r["name"]: r for r in map(json.loads, (DATA / "fastchat_judge_prompts.jsonl").open(encoding="utf-8"))}
    ours = judge_prompts()
    assert ours == reference  # the packaged copy is FastChat's file
    q = Question(111, "math", ("Q one?", "Q two?"))
    ref = ("R one", "R two")
    assert [prompt_name("math", 1), prompt_name("math", 2), prompt_name("writing", 1), prompt_name("writing", 2)] == [
        "single-math-v1", "single-math-v1-multi-turn", "single-v1", "single-v1-multi-turn"]  # fmt: skip
    one = judge_messages(ours["single-math-v1"], q, ["A one"], 1, ref)
    assert one[0] == {"role": "system", "content": "You are a helpful assistant."}
    assert one[1]["content"] == reference["single-math-v1"]["prompt_template"].format(
        question="Q one?", ref_answer_1="R one", answer="A one"
    )
    assert "[The Start of Reference Answer]\nR one\n[The End of Reference Answer]" in one[1]["content"]
    two = judge_messages(ours["single-math-v1-multi-turn"], q, ["A one", "A two"], 2, ref)
    assert two[0]["content"] == reference["single-math-v1-multi-turn"]["system_prompt"]
    assert "### User:\nQ two?\n\n### Reference answer:\nR two" in two[1]["content"]
    assert "### User:\nQ two?\n\n### Assistant A:\nA two" in two[1]["content"]
    plain = judge_messages(ours["single-v1-multi-turn"], Question(81, "writing", ("a", "b")), ["x", "y"], 2, None)
    assert plain[1]["content"] == reference["single-v1-multi-turn"]["prompt_template"].format(
        question_1="a", question_2="b", answer_1="x", answer_2="y"
    )


def test_scores_are_parsed_as_fastchat_does() -> None:
    from ru_llm.eval.judges.verdicts import parse_score

    assert parse_score("Good answer.\nRating: [[7]]") == 7
    assert parse_score("Rating: [[8.5]]") == 8.5
    assert parse_score("Rating: [6]") == 6  # the backup pattern
    assert parse_score("[[3]] first, then [[9]]") == 3
    assert parse_score("[2] but [[5]]") == 5  # [[x]] wins over [x]
    assert parse_score("no rating here") is None
    assert parse_score("[[A]]") is None


def test_a_judgment_gives_a_score_on_the_prompts_scale_or_a_reason() -> None:
    from ru_llm.eval.judges.verdicts import read_pair_verdict, read_score

    assert read_score("Rating: [[08]]") == (8.0, None)  # FastChat's ast.literal_eval raises SyntaxError here
    assert read_score("Rating: [[８]]") == (8.0, None)  # full-width digit, NFKC
    assert read_score("Rating: ［［７］］") == (7.0, None)  # full-width brackets too
    assert read_score("Rating: [[10.0]]") == (10.0, None) and read_score("[[1]]") == (1.0, None)
    assert read_score("Rating: [[11]]") == (None, "the rating [[11]] is outside the prompt's scale 1-10")
    assert read_score("[[0]]")[1] == "the rating [[0]] is outside the prompt's scale 1-10"
    assert "outside the prompt's scale" in read_score("[[100000000000000000000]]")[1]
    assert "outside the prompt's scale" in read_score("[[" + "9" * 400 + "]]")[1]  # inf, not an OverflowError
    assert read_score("") == (None, "the judgment is empty") and read_score(None) == (None, "the judgment is empty")
    assert read_score("  \n ") == (None, "the judgment is empty")
    assert read_score("Rating: eight") == (None, "the judgment has no [[rating]]")
    assert read_score("[[٨]]") == (None, "the judgment has no [[rating]]")  # Arabic-Indic: NFKC keeps it
    assert read_pair_verdict("so [[Ａ]]") == ("A", None) and read_pair_verdict("[[C]]") == ("tie", None)
    assert read_pair_verdict("") == (None, "the judgment is empty")
    assert read_pair_verdict("[[D]]") == (None, "the judgment has no [[A]], [[B]] or [[C]]")


def test_presets() -> None:
    from ru_llm.core.errors import ConfigError
    from ru_llm.eval.models.openai_chat import openai_params
    from ru_llm.eval.tasks.mt_bench import generation_params

    paper = generation_params("paper", "writing", None)
    assert paper == {"temperature": 0.2, "top_p": 0.95, "top_k": 40, "do_sample": False, "num_beams": 1,
                     "max_new_tokens": 1536, "repetition_penalty": 1.1, "no_repeat_ngram_size": 15}  # fmt: skip
    assert openai_params(paper) == {"max_tokens": 1536, "temperature": 0}
    writing = generation_params("fastchat", "writing", None)
    assert writing["do_sample"] and writing["temperature"] == 0.7
    assert not generation_params("fastchat", "math", 64)["do_sample"]
    assert generation_params("fastchat", "math", 64)["max_new_tokens"] == 64
    assert openai_params(writing) == {"max_tokens": 1024, "temperature": 0.7}
    with pytest.raises(ConfigError, match="preset"):
        generation_params("nope", "writing", None)


# -- whole runs against the fake server ---------------------------------------------------------------------
def test_mt_bench_scores_caches_and_never_writes_the_key(cli, server: FakeServer, tmp_path: Path) -> None:
    server.garbage_once.add("Compose an engaging travel blog")  # 81, turn 1: unparsable once, then parsed
    server.garbage.add("overtaken the second person")  # 101, turn 1: unparsable twice: a judge failure
    args = _args(server, tmp_path, "mt_bench,mt_bench_ru", "--data", f"mt_bench={DATA / 'en'}",
                 "--data", f"mt_bench_ru={DATA / 'ru'}", "--limit", "3")  # fmt: skip
    result = cli(*args)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    en = data["tasks"]["mt_bench"]
    m = en["metrics"]
    assert m["judge_failures"] == 1
    assert m["turn1"] == 8 and m["turn2"] == 6
    assert m["overall"] == pytest.approx((8 + 8 + 6 * 3) / 5)
    assert m["category/writing"] == 7 and m["category/reasoning"] == 6 and m["category/math"] == 7
    assert [i["id"] for i in en["items"]] == [
        "81/turn1",
        "81/turn2",
        "101/turn1",
        "101/turn2",
        "111/turn1",
        "111/turn2",
    ]
    first = en["items"][0]
    assert first["question_id"] == 81 and first["turn"] == 1 and first["score"] == 8
    assert first["answer"].startswith("Answer #1: Compose an engaging") and "Rating" in first["judgment"]
    assert en["items"][3]["judge_prompt"] == "single-math-v1-multi-turn"  # reasoning: with the reference
    assert en["items"][2]["score"] is None and en["failures"] == [
        {"id": "101/turn1", "reason": "judge: the judgment has no [[rating]] (asked twice)"}
    ]
    assert en["counts"] == {"items": 6, "scored": 5, "failed": 1, "reused_from_cache": 0, "empty_answers": 0}
    # turn 2 is asked with the first question and answer before it; the math judge sees the reference
    turn2 = [r["body"] for r in server.requests if r["body"]["model"] == "answerer" and len(r["body"]["messages"]) == 3]
    assert turn2 and turn2[0]["messages"][1]["role"] == "assistant" and turn2[0]["temperature"] == 0
    judged_111 = [r["body"]["messages"][1]["content"] for r in server.requests if r["body"]["model"] == "judge"
                  and "The vertices of a triangle" in r["body"]["messages"][1]["content"]]  # fmt: skip
    assert judged_111 and all(
        "[The Start of Reference Answer]" in c or "### Reference answer:" in c for c in judged_111
    )
    ru = data["tasks"]["mt_bench_ru"]["metrics"]
    assert ru["turn1"] == 8 and ru["turn2"] == 6 and ru["judge_failures"] == 0
    assert en["calls"]["answers"]["made"] == 6 and en["calls"]["judge"]["made"] == 6 + 1 + 1  # 2 retried judgments
    calls = len(server.requests)
    assert calls == 2 * 6 + 2 * 6 + 2

    again = cli(*args)
    assert again.exit_code == 0, again.output
    assert len(server.requests) == calls  # nothing asked again
    rerun = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["tasks"]["mt_bench"]
    assert rerun["metrics"] == m and rerun["counts"]["reused_from_cache"] == 6
    assert rerun["calls"]["judge"] == {"made": 0, "cached": 6, "retried": 0, "failed": 0}

    assert SECRET not in _every_file_text(tmp_path)
    assert SECRET not in result.output + again.output
    assert all(r["auth"] == f"Bearer {SECRET}" for r in server.requests if r["body"]["model"] == "judge")


def test_an_interrupted_run_resumes_from_the_caches(cli, server: FakeServer, tmp_path: Path) -> None:
    server.delay = 0.0
    args = _args(server, tmp_path, "mt_bench", "--data", DATA / "en", "--limit", "2")
    assert cli(*args[:-2], "--limit", "1", "--out", tmp_path / "first.json").exit_code == 0  # a part done
    before = len(server.requests)
    assert before == 4
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert len(server.requests) - before == 4  # only question 101's two answers and two judgments
    assert (
        json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["tasks"]["mt_bench"]["counts"][
            "reused_from_cache"
        ]
        == 2
    )


def test_the_old_judge_flags_still_work_as_task_options_with_a_warning(cli, server: FakeServer, tmp_path: Path) -> None:
    old = ["eval", "run", "mt_bench", "--model", "openai:answerer", "--base-url", server.url, "--judge-model", "judge",
           "--judge-base-url", server.url, "--judge-api-key-env", KEY_ENV, "--cache-dir", tmp_path / "cache",
           "--preset", "paper", "--judge-concurrency", "2", "--data", DATA / "en", "--limit", "1",
           "--out", tmp_path / "r.json"]  # fmt: skip
    result = cli(*old)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    for flag, key in [("--judge-model", "judge_model"), ("--cache-dir", "cache_dir"), ("--preset", "preset"),
                      ("--judge-concurrency", "concurrency")]:  # fmt: skip
        assert f"warning: {flag} is deprecated; write --task-option {key}=..." in said
    results = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert results["settings"]["preset"] == "paper" and results["settings"]["concurrency"] == 2
    assert results["tasks"]["mt_bench"]["metrics"]["turn1"] == 8
    assert (tmp_path / "cache" / "mt_bench" / "judgments.jsonl").is_file()


def test_the_default_cache_is_under_xdg_cache_home(cli, server: FakeServer, tmp_path: Path) -> None:
    args = _without(_args(server, tmp_path, "mt_bench", "--data", DATA / "en", "--limit", "1"), "cache_dir")
    result = cli(*args, env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "xdg" / "ru-llm" / "mt_bench" / "judgments.jsonl").is_file()
    assert SECRET not in _every_file_text(tmp_path)


def test_pairwise_against_a_baseline_judges_both_orders(cli, server: FakeServer, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(DATA / "en", data)
    (data / "model_answer").mkdir()
    rows = [
        {"question_id": q, "choices": [{"index": 0, "turns": [f"base {q} one", f"base {q} two"]}]} for q in (81, 101)
    ]
    (data / "model_answer" / "base.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args = _args(server, tmp_path, "mt_bench", "--data", data, "--limit", "3", *_options(baseline="base"))
    result = cli(*args)
    assert result.exit_code == 0, result.output
    task = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["tasks"]["mt_bench"]
    m = task["metrics"]
    assert (m["wins"], m["losses"], m["ties"], m["judge_failures"]) == (2, 0, 2, 0)  # 81: [[A]] both ways: a tie
    assert m["win_rate"] == 0.5 and m["win_rate_adjusted"] == 0.75 and m["category/reasoning"] == 1.0
    assert m["turn1_win_rate_adjusted"] == 0.75 and m["category/writing"] == 0.5
    assert [i["winner"] for i in task["items"]] == ["tie", "tie", "model", "model"]
    assert task["items"][2]["judge_prompt"] == "pair-math-v1" and task["items"][3]["baseline_answer"] == "base 101 two"
    assert task["failures"] == [{"id": f"111/turn{t}", "reason": "no answer of base to question 111"} for t in (1, 2)]
    assert server.calls("judge") == 8 and task["judge"]["baseline"] == "base"
    pair = [r["body"]["messages"][1]["content"] for r in server.requests if r["body"]["model"] == "judge"]
    assert any("[The Start of Reference Answer]" in c and "[The Start of Assistant B's Answer]\nbase 101 one" in c
               for c in pair)  # fmt: skip
    assert cli(*args).exit_code == 0 and server.calls("judge") == 8
    missing = _args(server, tmp_path, "mt_bench", "--data", data, *_options(baseline="nobody"))
    assert "Error: baseline nobody: no " in one_line_error(cli(*missing))


def test_a_judge_that_keeps_failing_is_recorded_per_item_and_asked_again_next_run(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ru_llm.eval.models.hf import ModelSettings
    from ru_llm.eval.run import evaluate
    from ru_llm.eval.task import TaskSettings
    from ru_llm.eval.tasks.mt_bench import MT_BENCH

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    options = {"judge_model": "judge", "judge_base_url": server.url, "retry_backoff": 0.01,
               "cache_dir": str(tmp_path / "cache")}  # fmt: skip
    settings = TaskSettings(data=str(DATA / "en"), limit=1, options=options)
    server.fail_judge = True
    out = evaluate(
        [("mt_bench", MT_BENCH)], ModelSettings("openai:answerer", base_url=server.url), settings, tmp_path / "r.json"
    )
    task = out["tasks"]["mt_bench"]
    assert task["metrics"]["judge_failures"] == 2 and task["metrics"]["overall"] is None
    assert task["failures"][0]["reason"] == "judge: judge_base_url: HTTP 503 after 4 retries: down"
    assert task["calls"]["judge"] == {"made": 0, "cached": 0, "retried": 8, "failed": 2}
    assert out["model"]["device"] == "remote" and out["model"]["dtype"] is None
    server.fail_judge = False
    again = evaluate(
        [("mt_bench", MT_BENCH)], ModelSettings("openai:answerer", base_url=server.url), settings, tmp_path / "r.json"
    )
    task = again["tasks"]["mt_bench"]
    assert task["metrics"]["overall"] == 7 and task["calls"]["judge"]["made"] == 2
    assert task["calls"]["answers"] == {"made": 0, "cached": 2, "retried": 0, "failed": 0}
    assert SECRET not in _every_file_text(tmp_path)


def _evaluate_mt_bench(server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any):  # type: ignore[no-untyped-def]
    from ru_llm.eval.models.hf import ModelSettings
    from ru_llm.eval.run import evaluate
    from ru_llm.eval.task import TaskSettings
    from ru_llm.eval.tasks.mt_bench import MT_BENCH

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    bars: dict[str, list[int]] = {}

    def progress(name: str, total: int):  # type: ignore[no-untyped-def]
        bars[name] = [total, 0]
        return lambda n: bars[name].__setitem__(1, bars[name][1] + n)

    options = {"judge_model": "judge", "judge_base_url": server.url, "retry_backoff": 0.01,
               "cache_dir": str(tmp_path / "cache"), **options}  # fmt: skip
    settings = TaskSettings(data=str(options.pop("data", DATA / "en")), limit=options.pop("limit", None),
                            options=options)  # fmt: skip
    model = ModelSettings("openai:answerer", base_url=server.url)
    out = evaluate([("mt_bench", MT_BENCH)], model, settings, tmp_path / "r.json", progress=progress)
    return out["tasks"]["mt_bench"], bars


def test_a_misbehaving_judge_gives_per_item_failures_with_reasons_and_the_run_finishes(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.scripted = [
        ("Compose an engaging travel blog", 1, "Good.\nRating: [[08]]"),  # 8: a leading zero is still 8
        ("Compose an engaging travel blog", 2, "Good.\nRating: [[８]]"),  # 8: full-width, NFKC
        ("overtaken the second person", 1, "Rating: [[11]]"),  # outside 1-10
        ("overtaken the second person", 2, "Rating: [[100000000000000000000]]"),
        ("The vertices of a triangle", 1, ""),  # empty text
        ("The vertices of a triangle", 2, INVALID_JSON),  # the server's reply is not JSON
    ]
    task, bars = _evaluate_mt_bench(server, tmp_path, monkeypatch)
    reasons = {f["id"]: f["reason"] for f in task["failures"]}
    assert sorted(reasons) == ["101/turn1", "101/turn2", "111/turn1", "111/turn2"]  # exactly those, nothing else
    assert reasons["101/turn1"] == "judge: the rating [[11]] is outside the prompt's scale 1-10 (asked twice)"
    assert reasons["101/turn2"] == (
        "judge: the rating [[100000000000000000000]] is outside the prompt's scale 1-10 (asked twice)"
    )
    assert reasons["111/turn1"] == "judge: the judgment is empty (asked twice)"
    assert reasons["111/turn2"].startswith("judge: judge_base_url") and len(reasons["111/turn2"]) > 30
    m = task["metrics"]
    assert m["judge_failures"] == 4 and task["counts"]["failed"] == 4 and task["counts"]["scored"] == 4
    scores = {i["id"]: i["score"] for i in task["items"]}
    assert scores == {"81/turn1": 8, "81/turn2": 8, "101/turn1": None, "101/turn2": None, "111/turn1": None,
                      "111/turn2": None, "121/turn1": 8, "121/turn2": 6}  # fmt: skip
    assert m["turn1"] == 8 and m["turn2"] == 7 and m["overall"] == 7.5
    assert m["turn1_stderr"] == 0 and m["turn2_stderr"] == pytest.approx(1.0)  # [8, 6]: sd sqrt(2) / sqrt(2)
    assert m["overall_stderr"] == pytest.approx(0.5)  # [8, 8, 8, 6]: sd 1 / sqrt(4)
    assert m["category/writing"] == 8 and m["category/writing_stderr"] == 0 and m["category/coding_stderr"] > 0
    judged = [r["body"]["messages"][1]["content"] for r in server.requests if r["body"]["model"] == "judge"]
    assert sum("overtaken the second person" in c and "### User:" not in c for c in judged) == 2  # one retry only
    assert bars == {"mt_bench: answers, turn 1": [4, 4], "mt_bench: answers, turn 2": [4, 4],
                    "mt_bench: judgments": [8, 8]}  # fmt: skip

    server.scripted = []  # a rerun: the cached judgments are read again, the failed call is asked again
    calls = server.calls("judge")
    rerun, bars = _evaluate_mt_bench(server, tmp_path, monkeypatch)
    assert server.calls("judge") == calls + 1 and rerun["metrics"]["judge_failures"] == 3
    assert bars == {"mt_bench: judgments": [8, 8]}  # the answers came from the cache: no bar for them


def test_cached_judgments_are_read_again_with_the_current_rules(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task, _ = _evaluate_mt_bench(server, tmp_path, monkeypatch, limit=1)
    assert task["metrics"]["turn1"] == 8
    cache = tmp_path / "cache" / "mt_bench" / "judgments.jsonl"
    entries = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines() if line.strip()]
    for entry in entries:  # as an older version would have cached [[11]]: parsed as 11
        if "[[8]]" in entry["value"]["judgment"]:
            value = {"judgment": "Rating: [[11]]", "parsed": 11.0}
            cache.write_text(json.dumps({"key": entry["key"], "value": value}) + "\n", encoding="utf-8")
    calls = len(server.requests)
    task, _ = _evaluate_mt_bench(server, tmp_path, monkeypatch, limit=1)
    assert len(server.requests) == calls + 1  # the turn-2 judgment was no longer cached; turn 1's is
    assert task["items"][0]["score"] is None and task["metrics"]["judge_failures"] == 1
    assert task["metrics"]["overall"] == 6 and "overall_stderr" not in task["metrics"]  # one score: no error bar
    assert task["failures"] == [
        {"id": "81/turn1", "reason": "judge: the rating [[11]] is outside the prompt's scale 1-10 (asked twice)"}
    ]


def test_pairwise_verdicts_that_cannot_be_read_are_failures_with_reasons(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(DATA / "en", data)
    (data / "model_answer").mkdir()
    rows = [{"question_id": q, "choices": [{"turns": [f"base {q} one", f"base {q} two"]}]} for q in (81, 101, 121)]
    (data / "model_answer" / "base.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    server.scripted = [
        ("Develop a Python program", 1, "Verdict: [[Ｂ]]"),  # full-width B: read as B
        ("overtaken the second person", 2, ""),
    ]
    task, _ = _evaluate_mt_bench(server, tmp_path, monkeypatch, data=data, baseline="base")
    reasons = {f["id"]: f["reason"] for f in task["failures"]}
    assert reasons.pop("101/turn2") == "judge (the model as A): the judgment is empty (asked twice)"
    assert sorted(reasons) == ["111/turn1", "111/turn2"]  # the baseline did not answer 111
    assert task["metrics"]["judge_failures"] == 1
    assert {i["id"]: i["winner"] for i in task["items"]}["121/turn1"] == "tie"  # read as B in both orders
    assert task["metrics"]["win_rate_adjusted_stderr"] > 0


# -- bad input -----------------------------------------------------------------------------------------------
def test_a_missing_judge_key_is_one_line(cli, server: FakeServer, tmp_path: Path) -> None:
    result = cli(*_args(server, tmp_path, "mt_bench", "--data", DATA / "en"), env={KEY_ENV: None})
    assert KEY_ENV in one_line_error(result)
    empty = cli(*_args(server, tmp_path, "mt_bench", "--data", DATA / "en"), env={KEY_ENV: "  "})
    assert "not set or empty" in one_line_error(empty)
    assert not server.requests and not (tmp_path / "r.json").exists()


def test_an_unreachable_judge_is_one_line(cli, server: FakeServer, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    args = _with(
        _args(server, tmp_path, "mt_bench", "--data", DATA / "en"), "judge_base_url", f"http://127.0.0.1:{port}/v1"
    )
    line = one_line_error(cli(*args))
    assert "judge_base_url" in line and "cannot connect" in line
    assert not server.requests and not (tmp_path / "r.json").exists()


def test_malformed_questions_and_missing_settings_are_one_line(cli, server: FakeServer, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "question.jsonl").write_text('{"question_id": 1, "category": "writing", "turns": ["a", "b"]}\n{oops\n')
    assert f"{bad / 'question.jsonl'}:2: not JSON" in one_line_error(
        cli(*_args(server, tmp_path, "mt_bench", "--data", bad))
    )
    (bad / "question.jsonl").write_text('{"question_id": 1, "category": "writing", "turns": ["only one"]}\n')
    assert "two non-empty strings" in one_line_error(cli(*_args(server, tmp_path, "mt_bench", "--data", bad)))
    assert "no question.jsonl" in one_line_error(cli(*_args(server, tmp_path, "mt_bench", "--data", tmp_path / "none")))
    no_judge = _without(_args(server, tmp_path, "mt_bench", "--data", DATA / "en"), "judge_model")
    assert "--task-option judge_model=NAME" in one_line_error(cli(*no_judge))
    bad_preset = one_line_error(cli(*_args(server, tmp_path, "mt_bench", "--data", DATA / "en", *_options(preset="x"))))
    assert "--task-option (mt_bench): preset 'x': expected one of greedy, paper, fastchat" in bad_preset
    unknown = one_line_error(cli(*_args(server, tmp_path, "mt_bench", "--data", DATA / "en", *_options(judge="x"))))
    assert (
        "--task-option judge: no task in this run takes 'judge'" in unknown and "judge_model, judge_base_url" in unknown
    )
    mmlu = ["eval", "run", "mmlu", "--model", "openai:answerer", "--base-url", server.url, "--data", MMLU_DATA,
            "--out", tmp_path / "m.json"]  # fmt: skip
    assert "mmlu: needs log-likelihoods, which --model-kind openai-chat does not give" in one_line_error(cli(*mmlu))
    no_url = _args(server, tmp_path, "mt_bench", "--data", DATA / "en")
    del no_url[no_url.index("--base-url") : no_url.index("--base-url") + 2]
    assert "--base-url" in one_line_error(cli(*no_url))
    assert not server.requests and not (tmp_path / "r.json").exists()


# -- a local model -------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_tiny_local_model_answers_both_turns_with_its_chat_template(
    cli, server: FakeServer, chat_model: Path, tmp_path: Path
) -> None:
    args = _args(server, tmp_path, "mt_bench_ru", "--data", DATA / "ru", "--limit", "2", "--max-new-tokens", "6",
                 "--device", "cpu", *_options(preset="paper"))  # fmt: skip
    args[args.index("openai:answerer")] = chat_model  # Qwen2.5's template, small vocabulary
    result = cli(*args)
    assert result.exit_code == 0, result.output
    task = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["tasks"]["mt_bench_ru"]
    assert [i["id"] for i in task["items"]] == ["81/turn1", "81/turn2", "101/turn1", "101/turn2"]
    assert task["metrics"]["turn1"] == 8 and task["metrics"]["turn2"] == 6
    assert task["calls"]["answers"]["made"] == 4 and server.calls("answerer") == 0 and server.calls("judge") == 4
    assert task["generation"]["preset"] == "paper"
    judged = [r["body"]["messages"][1]["content"] for r in server.requests]
    assert any(task["items"][1]["answer"] in c and "### Assistant A:" in c for c in judged)
    again = cli(*args)
    assert again.exit_code == 0 and server.calls("judge") == 4
    rerun = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["tasks"]["mt_bench_ru"]
    assert rerun["calls"]["answers"] == {"made": 0, "retried": 0, "failed": 0, "cached": 4}
    assert SECRET not in _every_file_text(tmp_path)
