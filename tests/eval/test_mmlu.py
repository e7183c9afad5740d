"""MMLU / MMLU-RU: prompts, letter scoring, shots that do not fit, bad rows, and an exactly known accuracy."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from ru_llm.eval.models.hf import ModelSettings
from ru_llm.eval.run import evaluate
from ru_llm.eval.task import ChoiceRequest, TaskSettings
from ru_llm.eval.tasks.mmlu import MMLU, MMLU_RU

MMLU_DATA = Path(__file__).resolve().parent.parent / "data" / "mmlu"


class FixedModel:
    """A model whose answer is always the same letter: accuracy is the share of that gold letter."""

    device = "cpu"

    def __init__(self, letter: int = 0, context_limit: int = 10**9) -> None:
        import torch

        self.letter = letter
        self.context_limit = context_limit
        self.model = torch.nn.Linear(1, 1)
        self.contexts: list[str] = []

    def fits(self, text: str) -> bool:
        return len(text) <= self.context_limit

    def choice_logprobs(self, requests: Sequence[ChoiceRequest], progress: Callable[[int], None]) -> list[list[float]]:
        self.contexts += [r.context for r in requests]
        progress(len(requests))
        return [[0.0 if i == self.letter else -5.0 for i in range(len(r.continuations))] for r in requests]


def _gold_letters(subject: str, n: int = 40) -> list[int]:
    with (MMLU_DATA / "test" / f"{subject}_test.csv").open(encoding="utf-8") as fh:
        return [int(row["answer"]) for row in csv.DictReader(fh)][:n]


def test_a_model_with_fixed_answers_gets_exactly_the_share_of_that_letter(tmp_path: Path) -> None:
    subjects = ("anatomy", "marketing", "world_religions")
    settings = TaskSettings(data=str(MMLU_DATA), subjects=subjects)
    results = evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, tmp_path / "r.json", model=FixedModel(1))
    task = results["tasks"]["mmlu"]
    golds = {s: _gold_letters(s) for s in subjects}
    expected = sum(g.count(1) for g in golds.values()) / 120
    assert task["metrics"]["accuracy"] == pytest.approx(expected)
    assert task["metrics"]["subject/anatomy"] == pytest.approx(golds["anatomy"].count(1) / 40)
    assert task["metrics"]["category/humanities"] == pytest.approx(golds["world_religions"].count(1) / 40)
    categories = [task["metrics"][f"category/{c}"] for c in ("STEM", "humanities", "other")]
    assert task["metrics"]["macro_accuracy"] == pytest.approx(sum(categories) / 3)
    first = task["items"][0]
    assert first["id"] == "anatomy/0" and first["prediction"] == "B" and first["gold"] in "ABCD"
    assert task["counts"] == {"items": 120, "scored": 120, "failed": 0, "reused_from_cache": 0}
    written = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert written["tasks"]["mmlu"]["metrics"] == task["metrics"]


def test_the_prompt_is_the_original_mmlu_format_with_the_first_dev_rows_as_shots(tmp_path: Path) -> None:
    model = FixedModel()
    settings = TaskSettings(data=str(MMLU_DATA), subjects=("anatomy",), limit=1, shots=2)
    evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, tmp_path / "r.json", model=model)
    with (MMLU_DATA / "dev" / "anatomy_dev.csv").open(encoding="utf-8") as fh:
        dev = list(csv.DictReader(fh))
    with (MMLU_DATA / "test" / "anatomy_test.csv").open(encoding="utf-8") as fh:
        test = next(csv.DictReader(fh))

    def block(row: dict, answer: bool) -> str:
        choices = "".join(f"\n{letter}. {row[f'choice{i}']}" for i, letter in enumerate("ABCD"))
        return (
            row["question"].strip() + choices + "\nAnswer:" + (f" {'ABCD'[int(row['answer'])]}\n\n" if answer else "")
        )

    expected = (
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
        + block(dev[0], True) + block(dev[1], True) + block(test, False)
    )  # fmt: skip
    assert model.contexts == [expected]


def test_mmlu_ru_reads_the_russian_fields_and_asks_in_russian(tmp_path: Path) -> None:
    data = tmp_path / "ru"
    for split in ("dev", "test"):
        (data / split).mkdir(parents=True)
        row = {
            "question_ru": "Сколько костей у взрослого человека?",
            "choices_ru": ["206", "300", "150", "12"],
            "answer": 0,
        }
        (data / split / f"anatomy_{split}.jsonl").write_text(
            json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    model = FixedModel()
    results = evaluate(
        [("mmlu_ru", MMLU_RU)], ModelSettings("fake"), TaskSettings(data=str(data)), tmp_path / "r.json", model=model
    )
    assert results["tasks"]["mmlu_ru"]["metrics"]["accuracy"] == 1.0
    prompt = model.contexts[0]
    assert prompt.startswith("Ниже приведены вопросы с множественным выбором (с ответами) по анатомии.\n\n")
    assert prompt.endswith("Сколько костей у взрослого человека?\nA. 206\nB. 300\nC. 150\nD. 12\nОтвет:")
    assert "Ответ: A\n\n" in prompt  # the one dev row as a shot


def test_shots_are_dropped_until_the_prompt_fits_and_counted(tmp_path: Path) -> None:
    model = FixedModel(context_limit=900)
    settings = TaskSettings(data=str(MMLU_DATA), subjects=("anatomy",), limit=5)
    results = evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, tmp_path / "r.json", model=model)
    items = results["tasks"]["mmlu"]["items"]
    assert all(len(c) <= 900 for c in model.contexts)
    assert all(i["shots"] < 5 for i in items)
    assert results["tasks"]["mmlu"]["metrics"]["truncated_shots"] == 5

    tiny = FixedModel(context_limit=10)  # not even the question fits: a per-item failure, the run goes on
    results = evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, tmp_path / "t.json", model=tiny)
    counts = results["tasks"]["mmlu"]["counts"]
    assert counts["scored"] == 0 and counts["failed"] == 5
    assert "does not fit the context even with zero shots" in results["tasks"]["mmlu"]["failures"][0]["reason"]


def test_malformed_rows_are_failures_with_reasons_and_the_rest_is_scored(tmp_path: Path) -> None:
    data = tmp_path / "mmlu"
    shutil.copytree(MMLU_DATA, data)
    path = data / "test" / "anatomy_test.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[1] = "Only three choices?,a,b,c,1"
    lines[2] = "A bad answer letter,a,b,c,d,E"
    path.write_text("\n".join(lines), encoding="utf-8")
    settings = TaskSettings(data=str(data), subjects=("anatomy",))
    results = evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, tmp_path / "r.json", model=FixedModel())
    task = results["tasks"]["mmlu"]
    assert task["counts"]["scored"] == 38 and task["counts"]["failed"] == 2 and task["counts"]["items"] == 40
    reasons = {f["id"]: f["reason"] for f in task["failures"]}
    assert reasons["anatomy/0"] == "expected 4 choices, got 3"
    assert reasons["anatomy/1"] == "bad answer 'E' (expected A-D or 0-3)"


def test_hendrycks_csv_without_a_header_and_letter_answers(tmp_path: Path) -> None:
    data = tmp_path / "hendrycks"
    for split in ("dev", "test"):
        (data / split).mkdir(parents=True)
        (data / split / f"marketing_{split}.csv").write_text(
            '"What is 4P?",price,place,product,all of them,D\n', encoding="utf-8"
        )
    results = evaluate(
        [("mmlu", MMLU)], ModelSettings("fake"), TaskSettings(data=str(data)), tmp_path / "r.json", model=FixedModel(3)
    )
    assert results["tasks"]["mmlu"]["items"][0]["gold"] == "D"
    assert results["tasks"]["mmlu"]["metrics"]["accuracy"] == 1.0
