"""Repairing the WMT21 habit of dropping the space after punctuation, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ru_llm.translate.repair import repair_translation

DATA = Path(__file__).resolve().parent.parent / "data" / "translate"


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("Я хочу сделать татуировку.Где это лучше сделать?", "Я хочу сделать татуировку. Где это лучше сделать?"),
        ("Правда?Да!Конечно…Иди", "Правда? Да! Конечно… Иди"),
        ("Он сказал «нет».Потом ушёл.", "Он сказал «нет». Потом ушёл."),
        ("Это было в 1990.Потом всё изменилось.", "Это было в 1990. Потом всё изменилось."),
        ("и т.д.Потом", "и т.д. Потом"),
        ("Однако,это не так;вот почему:всё просто.", "Однако, это не так; вот почему: всё просто."),
        ("Посмотрите [1].Здесь всё.", "Посмотрите [1]. Здесь всё."),
        ("Компания.Google купила её.", "Компания. Google купила её."),
    ],
)
def test_missing_space_is_restored(broken: str, fixed: str) -> None:
    assert repair_translation(broken) == fixed


@pytest.mark.parametrize(
    "text",
    [
        "Число пи равно 3.14, а e равно 2,71.",
        "Это, т.е. то, что нужно, e.g. вот так.",
        "А.С.Пушкин родился в Москве.",
        "Откройте https://ru.wikipedia.org/wiki/Москва.Река и прочтите.",
        "Файл config.Yaml лежит в папке.",
        "Пишите на ivan.Petrov@example.com сегодня.",
        "Запустите `print('a.Б')` в консоли.",
        "Время 10:30,сегодня",
        "Уже всё хорошо. Правда.",
        "",
    ],
)
def test_correct_text_is_left_alone(text: str) -> None:
    assert repair_translation(text) == text


def test_human_translations_need_no_repair() -> None:
    for line in (DATA / "rulm_ru_alpaca_seed_tasks.jsonl").read_text(encoding="utf-8").splitlines():
        task = json.loads(line)
        for text in [task["instruction"]] + [v for instance in task["instances"] for v in instance.values()]:
            assert repair_translation(text) == text
