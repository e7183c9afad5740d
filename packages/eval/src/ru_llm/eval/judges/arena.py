"""Arena-style pairwise evaluation (Arena-Hard-Auto, VikhrModels' ru_llm_arena, the T-Pro report): several models'
answers to the same questions, each judged against one baseline's in both orders, scored by Bradley-Terry.

``ru-llm eval arena --data DIR --baseline NAME --judge-model NAME --judge-base-url URL --out arena.json``
(:mod:`ru_llm.eval.commands.arena_cmd`).

* Data: ``DIR/question.jsonl`` (``question_id`` or ``uid``, ``category``, ``turns``: strings or
  ``{"content": ...}``, FastChat's and Arena-Hard's layouts) and ``DIR/model_answer/NAME.jsonl`` (``question_id``,
  ``choices[0].turns``), one file per model; answers can also come from models run here. The first turn is
  asked and judged (Arena-Hard's questions have one).
* Judge: Arena-Hard-Auto v0.1's prompt (``data/arena_hard_judge_prompt.json``) or the user's, temperature 0,
  4096 tokens; game 1 shows the baseline as assistant A, game 2 as B. The verdict is one of ``[[A>>B]]``,
  ``[[A>B]]``, ``[[A=B]]``, ``[[B>A]]``, ``[[B>>A]]`` (:func:`~ru_llm.eval.judges.verdicts.read_arena_verdict`);
  a judgment without one is asked for once more, then is that game's failure with its reason.
* Scores: :mod:`ru_llm.eval.judges.bradley_terry`. Judgments are cached like MT-Bench's
  (``<cache>/arena/judgments.jsonl``): a rerun makes no calls.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ru_llm.core.cache import JsonlCache, cache_root
from ru_llm.core.errors import ConfigError, first_line
from ru_llm.core.openai_http import ChatClient, public_url
from ru_llm.eval.judges.bradley_terry import WEIGHT, Battle, game_battles, leaderboard
from ru_llm.eval.judges.verdicts import read_arena_verdict
from ru_llm.eval.model import Chats

Progress = Callable[[str, int], Callable[[int], None]]
PLACEHOLDERS = ("{question_1}", "{answer_1}", "{answer_2}")


@dataclass(frozen=True)
class ArenaQuestion:
    id: Any
    category: str
    prompt: str  # the first turn


@dataclass(frozen=True)
class ArenaSettings:
    """What one arena run needs (the command checks the flags and builds this)."""

    data: Path
    baseline: str
    judge_model: str
    judge_base_url: str
    judge_key_env: str = "OPENAI_API_KEY"
    models: tuple[str, ...] = ()  # answer files to judge (empty: every one but the baseline's)
    judge_prompt: Path | None = None
    weight: int = WEIGHT
    rounds: int = 100
    unit: str = "battle"
    seed: int = 42
    concurrency: int = 8
    timeout: float = 120.0
    backoff: float = 1.0
    cache_dir: Path | None = None
    limit: int | None = None


# -- data ------------------------------------------------------------------------------------------------------
def _jsonl(path: Path) -> list[tuple[int, Any, str | None]]:
    """``(line number, value, problem)`` for every non-blank line."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        try:
            rows.append((n, json.loads(line), None))
        except ValueError as e:
            rows.append((n, None, f"not JSON ({first_line(e)})"))
    return rows


def _turn_text(turn: Any) -> str | None:
    if isinstance(turn, str):
        return turn
    if isinstance(turn, dict) and isinstance(turn.get("content"), str):
        return turn["content"]
    return None


def load_questions(data: Path, limit: int | None = None) -> list[ArenaQuestion]:
    """``DIR/question.jsonl``; a malformed line stops the run with its file and line."""
    file = data / "question.jsonl"
    if not file.is_file():
        raise ConfigError(f"--data {data}: no question.jsonl", hint="Arena-Hard's / FastChat's layout: "
                          "question.jsonl and model_answer/NAME.jsonl")  # fmt: skip
    questions: list[ArenaQuestion] = []
    seen: set[str] = set()
    for n, row, problem in _jsonl(file):
        where = f"{file}:{n}"
        if problem or not isinstance(row, dict):
            raise ConfigError(f"{where}: {problem or 'not a JSON object'}", hint="one JSON object a line")
        qid = row.get("question_id", row.get("uid"))
        turns = row.get("turns")
        first = _turn_text(turns[0]) if isinstance(turns, list) and turns else None
        if qid is None or qid == "" or not first or not first.strip():
            raise ConfigError(f"{where}: expected question_id (or uid) and turns with a non-empty first turn")
        if str(qid) in seen:
            raise ConfigError(f"{where}: question_id {qid} appears twice")
        seen.add(str(qid))
        questions.append(ArenaQuestion(qid, str(row.get("category") or "general"), first))
    if not questions:
        raise ConfigError(f"{file}: no questions")
    return questions[:limit] if limit else questions


def load_answers(data: Path) -> tuple[dict[str, dict[str, str]], list[dict[str, str]]]:
    """Every ``DIR/model_answer/NAME.jsonl``: ``{name: {question id (as text): first turn}}``, and a failure
    (with file:line) for each line that holds no answer."""
    folder = data / "model_answer"
    answers: dict[str, dict[str, str]] = {}
    failures: list[dict[str, str]] = []
    for file in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        own = answers.setdefault(file.stem, {})
        for n, row, problem in _jsonl(file):
            text = qid = None
            if isinstance(row, dict):
                qid = row.get("question_id", row.get("uid"))
                try:
                    text = _turn_text(row["choices"][0]["turns"][0])
                except (KeyError, IndexError, TypeError):
                    text = None
            if problem is None and (qid is None or text is None):
                problem = "expected question_id and choices[0].turns[0] (a string or {'content': ...})"
            if problem:
                failures.append({"id": f"{file.stem}/{file.name}:{n}", "reason": f"{file}:{n}: {problem}"})
                continue
            own[str(qid)] = str(text)
    return answers, failures


def judge_prompt(path: Path | None) -> dict[str, Any]:
    """Arena-Hard-Auto v0.1's judge prompt, or a JSON file with ``system_prompt`` and ``prompt_template``."""
    if path is None:
        text = resources.files("ru_llm.eval").joinpath("data/arena_hard_judge_prompt.json").read_text("utf-8")
        return json.loads(text)
    try:
        prompt = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"--judge-prompt {path}: not a readable JSON file ({first_line(e)})") from None
    template = prompt.get("prompt_template") if isinstance(prompt, dict) else None
    if not isinstance(template, str) or not isinstance(prompt.get("system_prompt"), str):
        raise ConfigError(f"--judge-prompt {path}: expected 'system_prompt' and 'prompt_template' strings")
    missing = [p for p in PLACEHOLDERS if p not in template]
    if missing:
        raise ConfigError(f"--judge-prompt {path}: prompt_template lacks {', '.join(missing)}")
    try:
        template.format(question_1="", answer_1="", answer_2="")
    except (KeyError, IndexError, ValueError) as e:
        raise ConfigError(f"--judge-prompt {path}: prompt_template does not format ({first_line(e)})",
                          hint="write a literal brace as {{ or }}") from None  # fmt: skip
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return {"name": f"{path.stem}-{digest}", "temperature": 0, "max_tokens": 4096, **prompt}


def arena_messages(prompt: dict[str, Any], question: str, answer_a: str, answer_b: str) -> list[dict[str, str]]:
    """System and user messages as Arena-Hard's ``gen_judgment.py`` sends them."""
    user = prompt["prompt_template"].format(question_1=question, answer_1=answer_a, answer_2=answer_b)
    return [{"role": "system", "content": prompt["system_prompt"]}, {"role": "user", "content": user}]


# -- answers from a model run here -----------------------------------------------------------------------------
ANSWER_PARAMS = {"do_sample": False, "max_new_tokens": 4096}  # Arena-Hard's gen_answer: temperature 0, 4096 tokens


@dataclass(frozen=True)
class AnswerSettings:
    """A model that answers the questions itself: a directory (transformers) or ``openai:NAME`` on ``base_url``."""

    model: str
    base_url: str | None = None
    key_env: str = "OPENAI_API_KEY"
    max_new_tokens: int | None = None
    device: str = "auto"
    dtype: str = "auto"
    concurrency: int = 8
    timeout: float = 120.0
    backoff: float = 1.0


def answer_set_name(model: str) -> str:
    """``openai:NAME`` is NAME; a directory its last part."""
    return model.removeprefix("openai:") if model.startswith("openai:") else Path(model).name or model


def generate_answers(
    spec: AnswerSettings,
    questions: list[ArenaQuestion],
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The model's answers to the first turns (cached as MT-Bench's are: a rerun generates nothing), and a
    failure for each question a server kept failing on."""
    from ru_llm.core.openai_http import CallFailed
    from ru_llm.eval.judges.calls import cache_key
    from ru_llm.eval.model import ChatRequest, ModelSettings
    from ru_llm.eval.registry import get_model_kind

    name = answer_set_name(spec.model)
    model_settings = ModelSettings(
        model=spec.model, device=spec.device, dtype=spec.dtype, base_url=spec.base_url, api_key_env=spec.key_env,
        concurrency=spec.concurrency, timeout=spec.timeout, retry_backoff=spec.backoff,
    )  # fmt: skip
    kind = get_model_kind(model_settings.kind_name)
    kind.check(model_settings)
    model = kind.load(model_settings)
    if not isinstance(model, Chats):
        raise ConfigError(f"--model {spec.model}: this model kind does not chat, so it cannot answer arena questions")
    identity = model.identity()
    params = dict(ANSWER_PARAMS, max_new_tokens=spec.max_new_tokens or ANSWER_PARAMS["max_new_tokens"])
    cache = JsonlCache((cache_dir or cache_root()) / "arena" / "answers.jsonl")
    answers: dict[str, str] = {}
    jobs, keys = [], []
    for q in questions:
        conversation = [{"role": "user", "content": q.prompt}]
        key = cache_key(kind="answer", who=identity, params=params, conversation=conversation)
        hit = cache.get(key)
        if hit is not None:
            answers[str(q.id)] = hit["answer"]
            continue
        jobs.append(ChatRequest(tuple(conversation), params))
        keys.append((q, key))
    advance = progress(f"arena: answers of {name}", len(jobs)) if progress and jobs else None

    def done(i: int, text: str) -> None:
        q, key = keys[i]
        cache.put(key, {"answer": text})
        answers[str(q.id)] = text
        if advance is not None:
            advance(1)

    failures = []
    if jobs:
        try:
            model.chat(jobs, done)
        except CallFailed as e:  # the rest stay unanswered: failures now, asked again by a rerun
            failures = [{"id": f"{name}/{q.id}", "reason": f"answer: {e.message}"} for q, _ in keys
                        if str(q.id) not in answers]  # fmt: skip
    return answers, failures


# -- the run ---------------------------------------------------------------------------------------------------
def run_arena(
    settings: ArenaSettings, answering: tuple[AnswerSettings, ...] = (), progress: Progress | None = None
) -> dict[str, Any]:
    """Answer with the ``answering`` models, judge every model against the baseline in both orders and fit the
    leaderboard; returns the results object."""
    from ru_llm.eval.judges.calls import judge_all

    started = time.time()
    questions = load_questions(settings.data, settings.limit)
    answers, failures = load_answers(settings.data)
    extra_answers: dict[str, dict[str, str]] = {}
    for spec in answering:
        extra_answers[answer_set_name(spec.model)], failed = generate_answers(
            spec, questions, settings.cache_dir, progress
        )
        failures += failed
    answers.update(extra_answers)
    if settings.baseline not in answers:
        raise ConfigError(
            f"--baseline {settings.baseline}: no answers (no {settings.data}/model_answer/{settings.baseline}.jsonl)",
            hint=f"answer sets: {', '.join(sorted(answers)) or 'none'}",
        )
    models = list(settings.models) or [m for m in answers if m != settings.baseline]
    models += [m for m in extra_answers if m not in models and m != settings.baseline]
    unknown = [m for m in models if m not in answers]
    if unknown:
        raise ConfigError(f"--models: no answers for {', '.join(unknown)}",
                          hint=f"answer sets: {', '.join(sorted(answers))}")  # fmt: skip
    if not models:
        raise ConfigError("nothing to judge: only the baseline has answers", hint="add model_answer/NAME.jsonl files")
    prompt = judge_prompt(settings.judge_prompt)
    base = answers[settings.baseline]

    pairs: list[tuple[str, ArenaQuestion]] = []
    calls: list[tuple[str, list[dict[str, str]]]] = []
    for model in models:
        for q in questions:
            mine, theirs = answers[model].get(str(q.id)), base.get(str(q.id))
            if mine is None or theirs is None:
                who = model if mine is None else settings.baseline
                failures.append({"id": f"{model}/{q.id}", "reason": f"no answer of {who} to question {q.id}"})
                continue
            pairs.append((model, q))
            calls.append((prompt["name"], arena_messages(prompt, q.prompt, theirs, mine)))  # game 1: baseline is A
            calls.append((prompt["name"], arena_messages(prompt, q.prompt, mine, theirs)))  # game 2: baseline is B

    judge = ChatClient(settings.judge_base_url, settings.judge_model, key_env=settings.judge_key_env,
                       key_required=True, what="--judge-base-url", timeout=settings.timeout,
                       backoff=settings.backoff)  # fmt: skip
    cache = JsonlCache((settings.cache_dir or cache_root()) / "arena" / "judgments.jsonl")
    params = {"temperature": prompt.get("temperature", 0), "max_tokens": prompt.get("max_tokens", 4096)}
    advance = progress("arena: judgments", len(calls)) if progress and calls else None
    values, reused = judge_all(calls, read_arena_verdict, judge, cache, settings.judge_model, settings.concurrency,
                               params=params, advance=advance)  # fmt: skip

    battles: list[Battle] = []
    items: list[dict[str, Any]] = []
    failed_games: dict[str, int] = {}
    for n, (model, q) in enumerate(pairs):
        games = []
        for game, baseline_is_a in ((0, True), (1, False)):
            value = values[2 * n + game]
            verdict = value.get("parsed")
            games.append({"baseline": "A" if baseline_is_a else "B", "verdict": verdict,
                          "judgment": value.get("judgment")})  # fmt: skip
            if verdict is None:
                failed_games[model] = failed_games.get(model, 0) + 1
                reason = value.get("error") or f"{value.get('problem') or 'no verdict'} (asked twice)"
                failures.append({"id": f"{model}/{q.id}/game{game + 1}", "reason": f"judge: {reason}"})
                continue
            battles += game_battles(settings.baseline, model, verdict, baseline_is_a, q.id, settings.weight)
        items.append({"id": f"{model}/{q.id}", "model": model, "question_id": q.id, "category": q.category,
                      "answer": answers[model][str(q.id)], "games": games})  # fmt: skip

    rows = leaderboard(battles, settings.baseline, rounds=settings.rounds, seed=settings.seed, unit=settings.unit)
    for row in rows:
        own = answers[row["model"]]
        lengths = [len(own[str(q.id)]) for q in questions if str(q.id) in own]
        row["judge_failures"] = failed_games.get(row["model"], 0)
        row["avg_answer_chars"] = round(sum(lengths) / len(lengths), 1) if lengths else None
    judged = {r["model"] for r in rows}
    for model in models:  # every game failed: on the board without a score
        if model not in judged:
            rows.append({"model": model, "win_rate": None, "ci_low": None, "ci_high": None, "rating": None,
                         "battles": 0, "judge_failures": failed_games.get(model, 0)})  # fmt: skip
    return {
        "kind": "arena",
        "baseline": settings.baseline,
        "leaderboard": rows,
        "judge": {
            "model": settings.judge_model,
            "base_url": public_url(settings.judge_base_url),  # user info and query may hold credentials
            "prompt": prompt["name"],
            **params,
        },
        "settings": {
            "data": str(settings.data),
            "questions": len(questions),
            "models": models,
            "weight": settings.weight,
            "bootstrap_rounds": settings.rounds,
            "bootstrap_unit": settings.unit,
            "seed": settings.seed,
            "turns_judged": "first",
        },
        "counts": {
            "games": len(calls),
            "judged": len(calls) - sum(failed_games.values()),
            "battles": len(battles),
            "reused_from_cache": reused,
            "failed": len(failures),
        },
        "calls": {"judge": judge.stats.as_dict()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "time_s": round(time.time() - started, 3),
        "failures": failures,
        "items": items,
    }
