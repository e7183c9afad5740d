"""MT-Bench and ruMT-Bench: two-turn questions answered by the model and graded 1-10 by an LLM judge.

``ru-llm eval run mt_bench_ru --model DIR|openai:NAME [--base-url URL] --task-option judge_model=NAME
--task-option judge_base_url=URL --data DIR --out results.json``; the task's options are :class:`MTBenchOptions`.

* Questions come from ``--data DIR`` in FastChat's layout (``question.jsonl``: ``question_id``, ``category``,
  ``turns``; ``reference_answer/*.jsonl``: ``question_id``, ``choices[0].turns``) or from the hub. A question's
  own ``reference`` field (ruMT-Bench and FastChat have one on some questions) is used when no reference file
  answers it.
* Answers: both turns, the second with the first question and answer before it, through the tokenizer's chat
  template (a local model, batched) or an OpenAI-compatible server (``--model openai:NAME --base-url URL``):
  any model that :class:`~ru_llm.eval.model.Chats`.
  Presets: ``greedy`` (default: greedy, 1024 new tokens), ``paper`` and ``fastchat`` (FastChat's per-category
  temperatures), see :data:`PRESETS`.
* Judge: FastChat's single-answer grading, prompts ``single-v1`` / ``single-math-v1`` for the first turn and
  their ``-multi-turn`` variants for the second, the math ones (with the reference answer) for
  :data:`NEED_REF_CATS`; temperature 0, up to 2048 tokens; the score is ``[[x]]``, else ``[x]``, on the prompt's
  1-10 scale (:mod:`ru_llm.eval.judges.verdicts`). A judgment without one (none, out of scale, empty, a failed
  call) is asked for once more, then is that item's failure with its reason, counted in ``judge_failures`` and
  left out of the means; nothing a judge returns stops the run.
* Metrics: ``turn1``, ``turn2``, ``overall`` (mean of all parsed judgments), ``judge_failures`` and
  ``category/<name>`` (both turns); every mean with its ``_stderr``.
* Caches (``$XDG_CACHE_HOME/ru-llm/mt_bench`` or the ``cache_dir`` option): answers per (model, settings, conversation
  so far), judgments per (judge model, prompt, rendered prompt); a rerun with the same settings makes no calls.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ru_llm.core.cache import JsonlCache, cache_root
from ru_llm.core.errors import ConfigError, first_line
from ru_llm.core.openai_http import CallFailed, ChatClient, check_reachable, public_url, server_auth
from ru_llm.eval.judges.calls import cache_key, judge_all
from ru_llm.eval.judges.verdicts import read_pair_verdict, read_score
from ru_llm.eval.model import ChatRequest, Chats, EvalModel
from ru_llm.eval.stats import mean_stderr
from ru_llm.eval.task import Item, TaskData, TaskSettings, task_options

NEED_REF_CATS = ("math", "reasoning", "coding", "arena-hard-200")  # FastChat's list
# FastChat's gen_model_answer temperatures; a temperature under 1e-4 means greedy
FASTCHAT_TEMPERATURES = {
    "writing": 0.7,
    "roleplay": 0.7,
    "extraction": 0.0,
    "math": 0.0,
    "coding": 0.0,
    "reasoning": 0.0,
    "stem": 0.1,
    "humanities": 0.1,
    "arena-hard-200": 0.0,
}
PRESETS: dict[str, dict[str, Any]] = {
    "greedy": {"do_sample": False, "max_new_tokens": 1024},
    "paper": {
        "temperature": 0.2,
        "top_p": 0.95,
        "top_k": 40,
        "do_sample": False,
        "num_beams": 1,
        "max_new_tokens": 1536,
        "repetition_penalty": 1.1,
        "no_repeat_ngram_size": 15,
    },
    "fastchat": {"max_new_tokens": 1024},  # temperature per category, see generation_params
}


# -- data ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    id: int | str
    category: str
    turns: tuple[str, ...]
    reference: tuple[str, ...] | None = None


def _read_jsonl(path: Path, what: str) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise ConfigError(
                f"{path}:{n}: not JSON ({first_line(e)})", hint=f"{what}: one JSON object a line"
            ) from None
        if not isinstance(row, dict):
            raise ConfigError(f"{path}:{n}: not a JSON object", hint=f"{what}: one JSON object a line")
        rows.append(row)
    return rows


def question_from(row: dict[str, Any], where: str) -> Question:
    """A FastChat question row (``question_id``, ``category``, ``turns``; ``prompt_id``/``prompt`` also read)."""
    qid = row.get("question_id", row.get("prompt_id"))
    turns = row.get("turns", row.get("prompt"))
    if qid is None or qid == "":
        raise ConfigError(f"{where}: no question_id", hint="FastChat's question.jsonl layout")
    if not (isinstance(turns, list) and len(turns) == 2 and all(isinstance(t, str) and t.strip() for t in turns)):
        raise ConfigError(f"{where}: question {qid}: 'turns' must be a list of two non-empty strings")
    ref = row.get("reference")
    reference = tuple(str(r) for r in ref) if isinstance(ref, list) and ref else None
    return Question(qid, str(row.get("category") or "general"), tuple(turns), reference)


def load_local(data: Path) -> tuple[list[Question], dict[Any, tuple[str, ...]], str]:
    """Questions, reference answers by question id and a sha256 of both, from a FastChat-layout directory."""
    file = data / "question.jsonl" if data.is_dir() else data
    if not file.is_file():
        raise ConfigError(
            f"--data {data}: no question.jsonl", hint="FastChat's layout: question.jsonl, reference_answer/"
        )
    digest = hashlib.sha256(file.read_bytes())
    questions = [question_from(row, f"{file}:{n}") for n, row in enumerate(_read_jsonl(file, "question.jsonl"), 1)]
    if not questions:
        raise ConfigError(f"{file}: no questions")
    seen = set()
    for q in questions:
        if q.id in seen:
            raise ConfigError(f"{file}: question_id {q.id} appears twice")
        seen.add(q.id)
    refs: dict[Any, tuple[str, ...]] = {}
    ref_dir = file.parent / "reference_answer"
    files = sorted(ref_dir.glob("*.jsonl")) if ref_dir.is_dir() else []
    files.sort(key=lambda f: f.stem != "gpt-4")  # FastChat's judges use gpt-4's references; then by name
    for ref_file in files:
        digest.update(ref_file.name.encode() + ref_file.read_bytes())
        for n, row in enumerate(_read_jsonl(ref_file, "reference answers"), 1):
            try:
                turns = row["choices"][0]["turns"]
                qid = row["question_id"]
            except (KeyError, IndexError, TypeError):
                raise ConfigError(f"{ref_file}:{n}: expected question_id and choices[0].turns") from None
            refs.setdefault(qid, tuple(str(t) for t in turns))
    return questions, refs, digest.hexdigest()


def load_baseline(data: str | None, name: str) -> dict[Any, tuple[str, ...]]:
    """A baseline's answers for pairwise judging: ``DATA/model_answer/NAME.jsonl`` (FastChat's layout)."""
    file = Path(data).expanduser() / "model_answer" / f"{name}.jsonl" if data else None
    if file is None or not file.is_file():
        raise ConfigError(
            f"baseline {name}: no {file or 'model_answer/' + name + '.jsonl'}",
            hint="pairwise judging reads the baseline's answers from --data DIR/model_answer/NAME.jsonl",
        )
    answers: dict[Any, tuple[str, ...]] = {}
    for n, row in enumerate(_read_jsonl(file, "model answers"), 1):
        try:
            answers[row["question_id"]] = tuple(str(t) for t in row["choices"][0]["turns"])
        except (KeyError, IndexError, TypeError):
            raise ConfigError(f"{file}:{n}: expected question_id and choices[0].turns") from None
    return answers


def load_hub(hub_id: str, name: str) -> tuple[list[Question], dict[Any, tuple[str, ...]], str]:
    from ru_llm.core.deps import require_datasets

    datasets = require_datasets(f"{name} from the hub", package="ru-llm-eval")
    try:
        loaded = datasets.load_dataset(hub_id)
        table = loaded[next(iter(loaded))] if hasattr(loaded, "keys") else loaded
    except Exception as e:  # datasets raises many kinds; offline is the usual one
        raise ConfigError(
            f"{name}: cannot load {hub_id} from the hub ({first_line(e)})",
            hint="offline? pass --data DIR with question.jsonl and reference_answer/ (FastChat's layout)",
        ) from None
    questions = [question_from(dict(row), f"{hub_id} row {n}") for n, row in enumerate(table)]
    blob = json.dumps([q.__dict__ for q in questions], sort_keys=True, ensure_ascii=False, default=str)
    return questions, {}, hashlib.sha256(blob.encode()).hexdigest()


# -- judge prompts ----------------------------------------------------------------------------------------
def judge_prompts() -> dict[str, dict[str, Any]]:
    """FastChat's judge prompts (``data/fastchat_judge_prompts.jsonl``, Apache-2.0) by name."""
    text = resources.files("ru_llm.eval").joinpath("data/fastchat_judge_prompts.jsonl").read_text(encoding="utf-8")
    return {row["name"]: row for row in (json.loads(line) for line in text.split("\n") if line.strip())}


def prompt_name(category: str, turn: int) -> str:
    base = "single-math-v1" if category in NEED_REF_CATS else "single-v1"
    return base if turn == 1 else base + "-multi-turn"


def _reference_fields(reference: tuple[str, ...] | None, turn: int) -> dict[str, str]:
    """The judge prompt's reference-answer fields (math, reasoning, coding): both turns' for turn 2."""
    if reference is None:
        return {}
    fields = {"ref_answer_1": reference[0]}
    if turn == 2:
        fields["ref_answer_2"] = reference[1] if len(reference) > 1 else ""
    return fields


def judge_messages(
    prompt: dict[str, Any], question: Question, answers: list[str], turn: int, reference: tuple[str, ...] | None
) -> list[dict[str, str]]:
    """System and user messages as FastChat's ``run_judge_single`` sends them to an OpenAI judge."""
    kwargs = _reference_fields(reference, turn)
    if turn == 2:
        user = prompt["prompt_template"].format(
            question_1=question.turns[0],
            question_2=question.turns[1],
            answer_1=answers[0],
            answer_2=answers[1],
            **kwargs,
        )
    else:
        user = prompt["prompt_template"].format(question=question.turns[0], answer=answers[0], **kwargs)
    return [{"role": "system", "content": prompt["system_prompt"]}, {"role": "user", "content": user}]


def pair_prompt_name(category: str, turn: int) -> str:
    base = "pair-math-v1" if category in NEED_REF_CATS else "pair-v2"
    return base if turn == 1 else base + "-multi-turn"


def pair_messages(
    prompt: dict[str, Any],
    question: Question,
    answers_a: list[str],
    answers_b: list[str],
    turn: int,
    reference: tuple[str, ...] | None,
) -> list[dict[str, str]]:
    """System and user messages as FastChat's ``run_judge_pair`` sends them to an OpenAI judge."""
    kwargs = _reference_fields(reference, turn)
    b = list(answers_b) + [""] * (2 - len(answers_b))
    if turn == 2:
        user = prompt["prompt_template"].format(
            question_1=question.turns[0], question_2=question.turns[1], answer_a_1=answers_a[0],
            answer_b_1=b[0], answer_a_2=answers_a[1], answer_b_2=b[1], **kwargs,
        )  # fmt: skip
    else:
        user = prompt["prompt_template"].format(
            question=question.turns[0], answer_a=answers_a[0], answer_b=b[0], **kwargs
        )
    return [{"role": "system", "content": prompt["system_prompt"]}, {"role": "user", "content": user}]


def pair_outcome(first: str | None, swapped: str | None) -> dict[str, Any]:
    """The model (A in ``first``, B in ``swapped``) against the baseline, as FastChat's ``show_result`` counts
    it: a win or loss when both orders agree, else a tie; ``score`` 1, 0.5 or 0 (``None`` on a failure)."""
    if first is None or swapped is None:
        return {"winner": None, "score": None}
    g1 = {"A": "model", "B": "baseline"}.get(first, first)
    g2 = {"A": "baseline", "B": "model"}.get(swapped, swapped)
    winner = g1 if g1 == g2 else "tie"
    return {"winner": winner, "score": {"model": 1.0, "tie": 0.5, "baseline": 0.0}[winner]}


# -- generation settings ----------------------------------------------------------------------------------
def generation_params(preset: str, category: str, max_new_tokens: int | None) -> dict[str, Any]:
    """The generation settings of ``preset`` for a question of ``category`` (transformers' names)."""
    if preset not in PRESETS:
        raise ConfigError(f"--preset {preset!r}: expected one of {', '.join(PRESETS)}")
    params = dict(PRESETS[preset])
    if preset == "fastchat":
        temperature = FASTCHAT_TEMPERATURES.get(category, 0.7)
        params["do_sample"] = temperature >= 1e-4
        if params["do_sample"]:
            params["temperature"] = temperature
    if max_new_tokens:
        params["max_new_tokens"] = max_new_tokens
    return params


# -- answering --------------------------------------------------------------------------------------------
Conversation = list[dict[str, str]]
Advance = Callable[[int], None]  # a progress bar's advance(n)


# -- the task ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MTBenchOptions:
    """``--task-option KEY=VALUE`` for mt_bench and mt_bench_ru; the judge's key stays in the environment."""

    judge_model: str | None = field(default=None, metadata={"help": "the judge model's name on its server"})
    judge_base_url: str | None = field(default=None, metadata={"help": "the judge's OpenAI-compatible URL (…/v1)"})
    judge_api_key_env: str = field(
        default="OPENAI_API_KEY", metadata={"help": "the environment variable holding the judge's key"}
    )
    concurrency: int = field(default=8, metadata={"help": "judge calls at once"})
    timeout: float = field(default=120.0, metadata={"help": "seconds per judge call"})
    retry_backoff: float = field(default=1.0, metadata={"help": "first wait before retrying a judge call, seconds"})
    preset: str = field(
        default="greedy", metadata={"help": "answer generation: greedy, paper or fastchat (per-category temperatures)"}
    )
    cache_dir: str | None = field(
        default=None, metadata={"help": "answer and judgment caches (default $XDG_CACHE_HOME/ru-llm)"}
    )
    baseline: str | None = field(
        default=None, metadata={"help": "judge pairwise against this model's answers (DATA/model_answer/NAME.jsonl)"}
    )

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ConfigError(f"preset {self.preset!r}: expected one of {', '.join(PRESETS)}")
        if self.concurrency < 1:
            raise ConfigError(f"concurrency {self.concurrency}: expected 1 or more")
        if self.timeout <= 0 or self.retry_backoff < 0:
            raise ConfigError("timeout must be above 0 and retry_backoff 0 or more")


class MTBench:
    """A judged two-turn benchmark; runs whole (answers, then judgments) rather than item by item."""

    options_type = MTBenchOptions

    def __init__(self, name: str, hub_id: str, description: str) -> None:
        self.name = name
        self.hub_id = hub_id
        self.description = description
        self._loaded: tuple[list[Question], dict[Any, tuple[str, ...]]] | None = None
        self._baseline: tuple[str, dict[Any, tuple[str, ...]]] | None = None

    # -- before the model loads: data, judge key and judge server ---------------------------------------
    def load(self, settings: TaskSettings) -> TaskData:
        opts: MTBenchOptions = task_options(self, settings)
        if not opts.judge_model or not opts.judge_base_url:
            raise ConfigError(
                f"{self.name}: needs a judge",
                hint="pass --task-option judge_model=NAME --task-option judge_base_url=URL",
            )
        judge_key_env = opts.judge_api_key_env
        other = "--task-option judge_api_key_env=VAR"
        server_auth(opts.judge_base_url, judge_key_env, what="judge_model", required=True,
                    hint=f"export {judge_key_env}=..., or name another variable with {other}")  # fmt: skip
        check_reachable(opts.judge_base_url, what="judge_base_url")
        if settings.data:
            questions, refs, sha = load_local(Path(settings.data).expanduser())
            source = str(settings.data)
        else:
            questions, refs, sha = load_hub(self.hub_id, self.name)
            source = f"hf:{self.hub_id}"
        if settings.limit:
            questions = questions[: settings.limit]
        self._loaded = (questions, refs)
        self._baseline = None
        if opts.baseline:
            self._baseline = (opts.baseline, load_baseline(settings.data, opts.baseline))
        items = [Item(f"{q.id}/turn{t}", {"question_id": q.id, "turn": t}) for q in questions for t in (1, 2)]
        return TaskData(items, source, sha)

    # -- the run ---------------------------------------------------------------------------------------
    def run(
        self,
        model: EvalModel,
        settings: TaskSettings,
        cache: Path | None = None,
        progress: Callable[[str, int], Callable[[int], None]] | None = None,
    ) -> dict[str, Any]:
        """Answers, then judgments; ``progress(description, total)`` gives the ``advance`` of a progress bar."""
        from rich.console import Console
        from rich.table import Table

        if not isinstance(model, Chats):
            raise ConfigError(
                f"{self.name}: needs a model that chats (hf, openai-chat); this model kind does not",
                hint="`ru-llm eval models` lists the model kinds",
            )
        if self._loaded is None:
            self.load(settings)
        assert self._loaded is not None
        questions, refs = self._loaded
        opts: MTBenchOptions = task_options(self, settings)
        preset = opts.preset
        concurrency = opts.concurrency
        cache_dir = Path(opts.cache_dir or cache_root()).expanduser() / "mt_bench"
        answers_cache = JsonlCache(cache_dir / "answers.jsonl")
        judgments_cache = JsonlCache(cache_dir / "judgments.jsonl")
        assert opts.judge_base_url is not None and opts.judge_model is not None  # checked by load
        judge = ChatClient(
            opts.judge_base_url,
            opts.judge_model,
            key_env=opts.judge_api_key_env,
            key_required=True,
            what="judge_base_url",
            timeout=opts.timeout,
            backoff=opts.retry_backoff,
        )
        identity = model.identity()
        calls_before = model.stats.as_dict() if model.stats else None  # a model's counts span every task

        # answers, turn by turn (the second turn sees the first answer)
        answers: dict[Any, list[str]] = {q.id: [] for q in questions}
        answer_failures: dict[Any, str] = {}
        cached_answers = 0
        for turn in (1, 2):
            jobs: list[ChatRequest] = []
            keys: list[tuple[Question, str]] = []
            for q in questions:
                if q.id in answer_failures:
                    continue
                conversation: Conversation = []
                for t in range(turn - 1):
                    conversation += [
                        {"role": "user", "content": q.turns[t]},
                        {"role": "assistant", "content": answers[q.id][t]},
                    ]
                conversation.append({"role": "user", "content": q.turns[turn - 1]})
                params = generation_params(preset, q.category, settings.max_new_tokens)
                key = cache_key(kind="answer", who=identity, params=params, conversation=conversation)
                hit = answers_cache.get(key)
                if hit is not None:
                    answers[q.id].append(hit["answer"])
                    cached_answers += 1
                    continue
                jobs.append(ChatRequest(tuple(conversation), params))
                keys.append((q, key))

            advance = progress(f"{self.name}: answers, turn {turn}", len(jobs)) if progress and jobs else None

            def done(
                i: int, text: str, keys: list[tuple[Question, str]] = keys, advance: Advance | None = advance
            ) -> None:
                q, key = keys[i]
                answers_cache.put(key, {"answer": text})
                answers[q.id].append(text)  # one job per question and turn: no two threads share a list
                if advance is not None:
                    advance(1)

            if jobs:
                try:
                    model.chat(jobs, done)
                except CallFailed as e:  # a server that keeps failing: the rest stay unanswered, reruns resume
                    for q, _ in keys:
                        if len(answers[q.id]) < turn:
                            answer_failures[q.id] = f"answer, turn {turn}: {e.message}"

        # judgments
        prompts = judge_prompts()
        failures: list[dict[str, Any]] = []
        baseline = self._baseline
        jobs_by_turn: list[tuple[Question, int, tuple[str, ...] | None]] = []
        for q in questions:
            if q.id in answer_failures:
                failures += [{"id": f"{q.id}/turn{t}", "reason": answer_failures[q.id]} for t in (1, 2)]
                continue
            if baseline is not None and q.id not in baseline[1]:
                failures += [
                    {"id": f"{q.id}/turn{t}", "reason": f"no answer of {baseline[0]} to question {q.id}"}
                    for t in (1, 2)
                ]
                continue
            for turn in (1, 2):
                reference = None
                if q.category in NEED_REF_CATS:
                    reference = refs.get(q.id) or q.reference
                    if reference is None:
                        failures.append(
                            {"id": f"{q.id}/turn{turn}", "reason": f"no reference answer for question {q.id}"}
                        )
                        continue
                jobs_by_turn.append((q, turn, reference))

        calls_to_make: list[tuple[str, list[dict[str, str]]]] = []
        for q, turn, reference in jobs_by_turn:
            if baseline is None:
                name = prompt_name(q.category, turn)
                calls_to_make.append((name, judge_messages(prompts[name], q, answers[q.id], turn, reference)))
            else:  # both orders: the model as A, then as B
                name = pair_prompt_name(q.category, turn)
                theirs = list(baseline[1][q.id])
                for a, b in ((answers[q.id], theirs), (theirs, answers[q.id])):
                    calls_to_make.append((name, pair_messages(prompts[name], q, a, b, turn, reference)))
        parse = read_score if baseline is None else read_pair_verdict
        advance = progress(f"{self.name}: judgments", len(calls_to_make)) if progress and calls_to_make else None
        values, reused = judge_all(
            calls_to_make, parse, judge, judgments_cache, opts.judge_model, concurrency, advance=advance
        )

        items: list[dict[str, Any]] = []
        judge_failures = 0
        for n, (q, turn, _) in enumerate(jobs_by_turn):
            record: dict[str, Any] = {
                "id": f"{q.id}/turn{turn}",
                "question_id": q.id,
                "category": q.category,
                "turn": turn,
                "question": q.turns[turn - 1],
                "answer": answers[q.id][turn - 1],
            }
            if baseline is None:
                value = values[n]
                record |= {"judge_prompt": calls_to_make[n][0], "judgment": value["judgment"], "score": value["parsed"]}
                problems = [("", value)] if value["parsed"] is None else []
            else:
                g1, g2 = values[2 * n], values[2 * n + 1]
                record |= {
                    "baseline_answer": baseline[1][q.id][turn - 1] if len(baseline[1][q.id]) >= turn else "",
                    "judge_prompt": calls_to_make[2 * n][0],
                    "judgment": g1["judgment"],
                    "judgment_swapped": g2["judgment"],
                    **pair_outcome(g1["parsed"], g2["parsed"]),
                }
                orders = (" (the model as A)", " (the model as B)")
                problems = [(order, v) for order, v in zip(orders, (g1, g2), strict=True) if v["parsed"] is None]
            items.append(record)
            if problems:
                judge_failures += 1
                order, value = problems[0]
                reason = value.get("error") or f"{value.get('problem') or 'no verdict'} (asked twice)"
                failures.append({"id": record["id"], "reason": f"judge{order}: {reason}"})
        if baseline is not None:
            metrics = aggregate_pairwise(items, judge_failures)
            reused //= 2
        else:
            metrics = aggregate(items, judge_failures)
        generated = sum(len(a) for a in answers.values()) - cached_answers
        if model.stats and calls_before is not None:
            answer_calls = {k: v - calls_before[k] for k, v in model.stats.as_dict().items() if k != "cached"}
        else:
            answer_calls = {"made": generated, "retried": 0, "failed": 0}
        calls = {"answers": {**answer_calls, "cached": cached_answers}, "judge": judge.stats.as_dict()}
        table = Table(title=f"{self.name}: calls")
        for column in ("", "made", "cached", "retried", "failed"):
            table.add_column(column, justify="right")
        for who, counts in calls.items():
            table.add_row(who, *(str(counts[c]) for c in ("made", "cached", "retried", "failed")))
        Console(stderr=True).print(table)
        scored = sum(1 for r in items if r["score"] is not None)
        judge_info: dict[str, Any] = {
            "model": opts.judge_model,
            "base_url": public_url(opts.judge_base_url),  # user info and query may hold credentials
            "prompts": sorted({r["judge_prompt"] for r in items}),
        }
        if baseline is not None:
            judge_info["baseline"] = baseline[0]
        return {
            "metrics": metrics,
            "counts": {"items": 2 * len(questions), "scored": scored, "failed": len(failures),
                       "reused_from_cache": reused,
                       "empty_answers": sum(1 for r in items if not r["answer"].strip())},
            "judge": judge_info,
            "generation": {"preset": preset, "answers_from": identity["model"]},
            "calls": calls,
            "failures": failures,
            "items": items,
        }  # fmt: skip

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, float]:
        return aggregate(records, sum(1 for r in records if r.get("score") is None))


def _with_stderr(metrics: dict[str, Any], name: str, values: list[float]) -> None:
    """``metrics[name]``, the mean of ``values`` (``None`` for none), and ``metrics[name + "_stderr"]``, its
    sample standard error as lm-eval computes it; below two values there is none and no key (JSON has no NaN)."""
    metrics[name] = sum(values) / len(values) if values else None
    stderr = mean_stderr(values)
    if not math.isnan(stderr):
        metrics[f"{name}_stderr"] = stderr


def aggregate_pairwise(records: list[dict[str, Any]], judge_failures: int) -> dict[str, Any]:
    """Against the baseline, as FastChat's ``show_result --mode pairwise-baseline``: ``win_rate`` (wins over
    all judged), ``win_rate_adjusted`` (ties count half), per turn and category, and the counts; each rate
    with its ``_stderr`` (a rate is the mean of a per-item 1/0, or 1/0.5/0, value)."""
    judged = [r for r in records if r.get("winner") is not None]
    metrics: dict[str, Any] = {}
    _with_stderr(metrics, "win_rate", [float(r["winner"] == "model") for r in judged])
    _with_stderr(metrics, "win_rate_adjusted", [r["score"] for r in judged])
    for turn in (1, 2):
        _with_stderr(metrics, f"turn{turn}_win_rate_adjusted", [r["score"] for r in judged if r["turn"] == turn])
    metrics |= {
        "wins": sum(r["winner"] == "model" for r in judged),
        "losses": sum(r["winner"] == "baseline" for r in judged),
        "ties": sum(r["winner"] == "tie" for r in judged),
        "judge_failures": judge_failures,
    }
    for category in sorted({r["category"] for r in judged}):
        _with_stderr(metrics, f"category/{category}", [r["score"] for r in judged if r["category"] == category])
    return metrics


def aggregate(records: list[dict[str, Any]], judge_failures: int) -> dict[str, Any]:
    """``turn1``, ``turn2``, ``overall`` (mean of all parsed judgments), ``judge_failures``, ``category/*``; each
    mean with its ``_stderr``."""
    scored = [r for r in records if r.get("score") is not None]
    metrics: dict[str, Any] = {}
    _with_stderr(metrics, "turn1", [r["score"] for r in scored if r["turn"] == 1])
    _with_stderr(metrics, "turn2", [r["score"] for r in scored if r["turn"] == 2])
    _with_stderr(metrics, "overall", [r["score"] for r in scored])
    metrics["judge_failures"] = judge_failures
    for category in sorted({r["category"] for r in scored}):
        _with_stderr(metrics, f"category/{category}", [r["score"] for r in scored if r["category"] == category])
    return metrics


MT_BENCH = MTBench(
    "mt_bench", "HuggingFaceH4/mt_bench_prompts", "MT-Bench (80 two-turn questions), graded 1-10 by an LLM judge"
)
MT_BENCH_RU = MTBench(
    "mt_bench_ru", "NLPCoreTeam/ruMT-Bench", "ruMT-Bench (80 two-turn Russian questions), graded 1-10 by an LLM judge"
)
