"""`ru-llm eval arena`: Arena-Hard's verdicts to battles, the Bradley-Terry fit (checked against scikit-learn's
logistic regression, as Arena-Hard fits it), bootstrap intervals, and whole runs against a fake judge on
127.0.0.1 whose verdicts follow a quality tag in each answer: exact win rates, failures with reasons, caching."""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path
from typing import Any

import pytest
from kit.openai_server import FakeOpenAI, Reply, Request, chat_reply
from kit.train_data import one_line_error

SECRET = "sk-test-ARENA-never-written-41d2"
KEY_ENV = "RU_LLM_TEST_ARENA_KEY"
VERDICTS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")


# -- battles and the fit ---------------------------------------------------------------------------------------
def test_every_verdict_in_both_orders_makes_arena_hards_battles() -> None:
    from ru_llm.eval.judges.bradley_terry import game_battles

    def winners(verdict: str, baseline_is_a: bool) -> list[str]:
        return [b.winner for b in game_battles("base", "m", verdict, baseline_is_a)]

    # game 1: the baseline is A; game 2: the baseline is B ("a" is always the baseline)
    assert [winners(v, True) for v in VERDICTS] == [["a"] * 3, ["a"], ["tie"], ["b"], ["b"] * 3]
    assert [winners(v, False) for v in VERDICTS] == [["b"] * 3, ["b"], ["tie"], ["a"], ["a"] * 3]
    assert len(game_battles("base", "m", "A>>B", True, weight=1)) == 1


def _random_battles(seed: int = 0) -> list[Any]:
    from ru_llm.eval.judges.bradley_terry import Battle, game_battles

    rng = random.Random(seed)
    battles: list[Any] = []
    for model, odds in {"m1": (1, 2, 3, 3, 1), "m2": (3, 3, 2, 1, 1), "m3": (1, 1, 2, 3, 3)}.items():
        for q in range(120):
            for baseline_is_a in (True, False):
                battles += game_battles("base", model, rng.choices(VERDICTS, odds)[0], baseline_is_a, q)
    battles += [Battle("m1", "m2", rng.choice(("a", "b", "tie")), q) for q in range(60)]  # models meet too
    return battles


def test_the_fit_matches_arena_hards_logistic_regression() -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    import numpy as np

    from ru_llm.eval.judges.bradley_terry import ratings

    battles = _random_battles()
    ours = ratings(battles, "base")
    models = list(ours)
    # Arena-Hard's compute_mle_elo: battles twice, +-log(10) features, a tie is one A win and one B win
    rows = battles + battles
    x = np.zeros((len(rows), len(models)))
    y = np.zeros(len(rows))
    for n, battle in enumerate(rows):
        x[n, models.index(battle.a)], x[n, models.index(battle.b)] = math.log(10), -math.log(10)
        y[n] = battle.winner == "a" or (battle.winner == "tie" and n < len(battles))
    fit = linear_model.LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-10, max_iter=10_000).fit(x, y)
    elo = 400 * fit.coef_[0]
    elo += 1000 - elo[models.index("base")]
    assert ours["base"] == 1000
    for model, value in zip(models, elo, strict=True):
        assert ours[model] == pytest.approx(value, abs=1e-3)


def test_against_the_baseline_only_the_win_rate_is_the_share_of_battles_won() -> None:
    from ru_llm.eval.judges.bradley_terry import leaderboard

    battles = [b for b in _random_battles() if b.a == "base"]
    rows = {r["model"]: r for r in leaderboard(battles, "base", rounds=200, seed=1)}
    for model in ("m1", "m2", "m3"):
        mine = [b for b in battles if b.b == model]
        share = (sum(b.winner == "b" for b in mine) + 0.5 * sum(b.winner == "tie" for b in mine)) / len(mine)
        row = rows[model]
        assert row["win_rate"] == pytest.approx(share, abs=1e-9)
        assert row["ci_low"] < row["win_rate"] < row["ci_high"] and row["ci_high"] - row["ci_low"] < 0.2
        assert (row["wins"], row["ties"], row["losses"]) == (
            sum(b.winner == "b" for b in mine), sum(b.winner == "tie" for b in mine), sum(b.winner == "a" for b in mine)
        )  # fmt: skip
    assert rows["base"]["win_rate"] == 0.5 and rows["base"]["ci_low"] == rows["base"]["ci_high"] == 0.5
    again = {r["model"]: r for r in leaderboard(battles, "base", rounds=200, seed=1)}
    assert again == rows  # the seed fixes the bootstrap
    by_question = {r["model"]: r for r in leaderboard(battles, "base", rounds=200, seed=1, unit="question")}
    width = {m: rows[m]["ci_high"] - rows[m]["ci_low"] for m in ("m1", "m2", "m3")}
    wider = {m: by_question[m]["ci_high"] - by_question[m]["ci_low"] for m in ("m1", "m2", "m3")}
    assert sum(wider.values()) > sum(width.values())  # a question's battles move together: wider intervals


def test_a_model_that_wins_every_battle_gets_a_win_rate_of_one_not_an_error() -> None:
    from ru_llm.eval.judges.bradley_terry import game_battles, leaderboard

    battles = [b for q in range(5) for b in game_battles("base", "best", "B>>A", True, q)]
    row = next(r for r in leaderboard(battles, "base", rounds=20) if r["model"] == "best")
    assert row["win_rate"] > 0.999999 and math.isfinite(row["rating"]) and row["wins"] == 15


# -- whole runs against a fake judge ---------------------------------------------------------------------------
TOPICS = ("рекурсию", "НДС", "фотосинтез", "TCP", "ипотеку", "энтропию")
QUESTIONS = [f"Вопрос {n}: объясните {topic}." for n, topic in enumerate(TOPICS, 1)]
QUALITY = {  # the tag q=N in an answer: the judge prefers higher N (2 apart: strongly)
    "base": [2, 2, 2, 2, 2, 2],
    "strong": [3, 3, 4, 2, 3, 3],
    "weak": [1, 2, 1, 1, 2, 0],
    "flaky": [2, "EMPTY", "CONFLICT", "NOT-A-COMPLETION", 3, 2],
}


def _answer(model: str, n: int) -> str:
    quality = QUALITY[model][n]
    return f"{quality}" if isinstance(quality, str) else f"q={quality} ответ {model} на вопрос {n + 1}"


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "arena-data"
    (data / "model_answer").mkdir(parents=True)
    # Arena-Hard's layout: turns as {"content": ...}
    rows = [{"question_id": f"q{n}", "category": "arena-hard-v0.1", "cluster": "x", "turns": [{"content": text}]}
            for n, text in enumerate(QUESTIONS)]  # fmt: skip
    (data / "question.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    for model in QUALITY:
        lines = []
        for n in range(len(QUESTIONS)):
            turn: Any = _answer(model, n) if model == "weak" else {"content": _answer(model, n)}  # FastChat: str
            lines.append(json.dumps({"question_id": f"q{n}", "model_id": model, "choices": [{"turns": [turn]}]},
                                    ensure_ascii=False))  # fmt: skip
        if model == "weak":
            lines.insert(2, '{"question_id": "q9", "choices": []}')  # line 3: no answer in it
        (data / "model_answer" / f"{model}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data


def _judge(request: Request) -> Reply:
    body = request["body"]
    if body["model"] != "judge":  # an answering model (--model openai:gen)
        return chat_reply("q=2 сгенерированный ответ")
    prompt = body["messages"][1]["content"]
    a = re.search(r"Assistant A's Answer\|>\n(.*?)\n<\|The End", prompt, re.S).group(1)  # type: ignore[union-attr]
    b = re.search(r"Assistant B's Answer\|>\n(.*?)\n<\|The End", prompt, re.S).group(1)  # type: ignore[union-attr]
    if "EMPTY" in a + b:
        return chat_reply("")
    if "CONFLICT" in a + b:
        return chat_reply("First [[A>B]], on reflection [[B>A]].")
    if "NOT-A-COMPLETION" in a + b:
        return 200, {}, {"object": "error", "detail": "no choices here"}
    qa, qb = (int(m.group(1)) if (m := re.match(r"q=(\d+)", t)) else 2 for t in (a, b))  # untagged: 2
    verdict = {0: "A=B", 1: "A>B", -1: "B>A"}.get(qa - qb, "A>>B" if qa > qb else "B>>A")
    return chat_reply(f"My own answer first... My final verdict is: [[{verdict}]]")


@pytest.fixture
def judge():  # type: ignore[no-untyped-def]
    server = FakeOpenAI()
    server.default = _judge
    yield server
    server.close()


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ru_llm.cli.app import build_app

    def run(*args: Any, env: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
        environment = {"COLUMNS": "200", KEY_ENV: SECRET, "OPENAI_API_KEY": SECRET, **(env or {})}
        return CliRunner().invoke(build_app(), [str(a) for a in args], prog_name="ru-llm", env=environment)

    return run


def _args(judge: FakeOpenAI, tmp_path: Path, data: Path, *extra: Any) -> list[Any]:
    return ["eval", "arena", "--data", data, "--baseline", "base", "--judge-model", "judge", "--judge-base-url",
            judge.url, "--judge-api-key-env", KEY_ENV, "--cache-dir", tmp_path / "cache", "--out",
            tmp_path / "arena.json", *extra]  # fmt: skip


def _judge_calls(server: FakeOpenAI) -> int:
    return sum(1 for r in server.requests if r["body"]["model"] == "judge")


def test_an_arena_run_scores_every_model_and_records_each_failure(cli, judge: FakeOpenAI, tmp_path: Path) -> None:
    data = _data(tmp_path)
    args = _args(judge, tmp_path, data, "--model", "openai:gen", "--base-url", judge.url, "--bootstrap-rounds", 50)
    result = cli(*args)
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "arena.json").read_text(encoding="utf-8"))
    board = {row["model"]: row for row in out["leaderboard"]}
    assert [row["model"] for row in out["leaderboard"]] == ["strong", "flaky", "base", "gen", "weak"]
    # baseline-only battles: the win rate is (wins + ties / 2) / battles, worked out by hand from QUALITY
    assert board["strong"]["win_rate"] == pytest.approx((14 + 1) / 16)
    assert (board["strong"]["wins"], board["strong"]["ties"], board["strong"]["losses"]) == (14, 2, 0)
    assert board["weak"]["win_rate"] == pytest.approx(2 / 16) and board["weak"]["losses"] == 12
    assert board["flaky"]["win_rate"] == pytest.approx(4 / 6) and board["flaky"]["judge_failures"] == 6
    assert board["gen"]["win_rate"] == pytest.approx(0.5) and board["gen"]["ties"] == 12  # answered here
    assert board["base"]["win_rate"] == 0.5
    assert all(r["ci_low"] <= r["win_rate"] <= r["ci_high"] for r in out["leaderboard"])
    reasons = {f["id"]: f["reason"] for f in out["failures"]}
    assert reasons["flaky/q1/game1"] == "judge: the judgment is empty (asked twice)"
    assert reasons["flaky/q2/game2"] == "judge: conflicting verdicts [[A>B]], [[B>A]] (asked twice)"
    assert reasons["flaky/q3/game1"].startswith("judge: --judge-base-url")
    assert reasons["weak/weak.jsonl:3"].endswith(f"{data / 'model_answer' / 'weak.jsonl'}:3: expected question_id "
                                                 "and choices[0].turns[0] (a string or {'content': ...})")  # fmt: skip
    assert len(reasons) == 7  # six failed games, one unreadable line: nothing else
    assert out["counts"]["games"] == 4 * 6 * 2 and out["counts"]["judged"] == 48 - 6
    assert out["judge"] == {"model": "judge", "base_url": judge.url, "prompt": "arena-hard-v0.1",
                            "temperature": 0, "max_tokens": 4096}  # fmt: skip
    first = next(i for i in out["items"] if i["id"] == "strong/q2")
    assert [g["baseline"] for g in first["games"]] == ["A", "B"] and [g["verdict"] for g in first["games"]] == [
        "B>>A", "A>>B"]  # fmt: skip
    prompts = [r["body"]["messages"] for r in judge.requests if r["body"]["model"] == "judge"]
    assert all(p[0]["content"].startswith("Please act as an impartial judge") for p in prompts)
    # the judge is called concurrently, so prompts are matched by content, not by arrival order
    openings = [f"<|User Prompt|>\n{q}\n\n<|The Start of Assistant A's Answer|>\n" for q in QUESTIONS]
    assert all(any(p[1]["content"].startswith(o) for o in openings) for p in prompts)
    assert any(p[1]["content"].startswith(openings[0]) for p in prompts)
    assert all(r["body"]["temperature"] == 0 and r["body"]["max_tokens"] == 4096 for r in judge.requests
               if r["body"]["model"] == "judge")  # fmt: skip
    table = result.stdout
    assert re.search(r"strong\s+│\s+93\.[78]\s+│\s+\(-\d+\.\d, \+\d+\.\d\)", table), table  # 93.75 %
    assert "7 games or answers failed" in result.stderr

    calls, generated = _judge_calls(judge), len(judge.requests) - _judge_calls(judge)
    again = cli(*args)
    assert again.exit_code == 0, again.output
    assert _judge_calls(judge) - calls == 2  # only the two games whose calls failed are asked again
    assert len(judge.requests) - _judge_calls(judge) == generated  # the answers came from the cache
    assert json.loads((tmp_path / "arena.json").read_text(encoding="utf-8"))["leaderboard"] == out["leaderboard"]
    written = "\n".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file())
    assert SECRET not in written and SECRET not in result.output + again.output


def test_models_can_be_chosen_and_the_prompt_replaced(cli, judge: FakeOpenAI, tmp_path: Path) -> None:
    data = _data(tmp_path)
    prompt = tmp_path / "ru_prompt.json"
    prompt.write_text(json.dumps({"system_prompt": "Судья: ответь [[A>B]] и т.п.",
                                  "prompt_template": "<|User Prompt|>\n{question_1}\n\n<|The Start of Assistant A's "
                                  "Answer|>\n{answer_1}\n<|The End of Assistant A's Answer|>\n\n<|The Start of "
                                  "Assistant B's Answer|>\n{answer_2}\n<|The End of Assistant B's Answer|>"}),
                      encoding="utf-8")  # fmt: skip
    result = cli(*_args(judge, tmp_path, data, "--models", "strong", "--judge-prompt", prompt, "--limit", 2,
                        "--bootstrap-rounds", 0))  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "arena.json").read_text(encoding="utf-8"))
    assert [r["model"] for r in out["leaderboard"]] == ["strong", "base"] and out["counts"]["games"] == 4
    assert out["judge"]["prompt"].startswith("ru_prompt-")
    assert {r["body"]["messages"][0]["content"] for r in judge.requests} == {"Судья: ответь [[A>B]] и т.п."}


def test_bad_arena_input_is_one_line(cli, judge: FakeOpenAI, tmp_path: Path) -> None:
    data = _data(tmp_path)
    args = _args(judge, tmp_path, data)
    args[args.index("--baseline") + 1] = "nobody"
    line = one_line_error(cli(*args))
    assert "--baseline nobody: no answers" in line and "strong" in line
    assert "--models: no answers for ghost" in one_line_error(cli(*_args(judge, tmp_path, data, "--models", "ghost")))
    assert "no question.jsonl" in one_line_error(cli(*_args(judge, tmp_path, tmp_path)))
    assert "no such directory" in one_line_error(cli(*_args(judge, tmp_path, tmp_path / "none")))
    assert KEY_ENV in one_line_error(cli(*_args(judge, tmp_path, data), env={KEY_ENV: None}))
    assert "--bootstrap-unit" in one_line_error(cli(*_args(judge, tmp_path, data, "--bootstrap-unit", "item")))
    assert "needs --base-url" in one_line_error(cli(*_args(judge, tmp_path, data, "--model", "openai:gen")))
    bad_prompt = tmp_path / "p.json"
    bad_prompt.write_text(json.dumps({"system_prompt": "x", "prompt_template": "{question_1} {answer_1}"}), "utf-8")
    assert "lacks {answer_2}" in one_line_error(cli(*_args(judge, tmp_path, data, "--judge-prompt", bad_prompt)))
    (data / "question.jsonl").write_text('{"question_id": "q0", "turns": []}\n', encoding="utf-8")
    assert f"{data / 'question.jsonl'}:1: expected question_id" in one_line_error(cli(*_args(judge, tmp_path, data)))
    assert not judge.requests and not (tmp_path / "arena.json").exists()


@pytest.mark.slow
def test_a_local_model_answers_the_questions_through_its_chat_template(
    cli, judge: FakeOpenAI, chat_model: Path, tmp_path: Path
) -> None:
    data = _data(tmp_path)
    model = chat_model  # Qwen2.5's chat template on a small vocabulary (tests/eval/conftest.py)
    args = _args(judge, tmp_path, data, "--models", "weak", "--model", model, "--max-new-tokens", 4,
                 "--device", "cpu", "--bootstrap-rounds", 10)  # fmt: skip
    result = cli(*args)
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "arena.json").read_text(encoding="utf-8"))
    name = Path(model).name
    assert out["settings"]["models"] == ["weak", name]
    row = next(r for r in out["leaderboard"] if r["model"] == name)
    assert row["battles"] == 12 and row["ties"] == 12  # untagged answers: even with the baseline
    answers = [i["answer"] for i in out["items"] if i["model"] == name]
    assert len(answers) == 6 and all(isinstance(a, str) for a in answers)
    assert not any(r["body"]["model"] != "judge" for r in judge.requests)  # answered locally, not by the server
    calls = len(judge.requests)
    assert cli(*args).exit_code == 0 and len(judge.requests) == calls  # answers and judgments cached
