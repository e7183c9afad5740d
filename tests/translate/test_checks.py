"""Failure detection: each flag fires on broken Russian output and stays quiet on real human translations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ru_llm.core import ConfigError
from ru_llm.translate.checks import (
    FLAGS,
    CheckConfig,
    compression_ratio,
    cyrillic_share,
    looks_like_code,
    merge_flags,
    repeated_ngram_share,
    segment_flags,
)
from ru_llm.translate.segment import segment_text

DATA = Path(__file__).resolve().parent.parent / "data" / "translate"

SOURCE = "The cat sat on the warm windowsill and watched the birds in the garden all afternoon."
GOOD = "Кошка сидела на тёплом подоконнике и весь день смотрела на птиц в саду."


def test_a_good_translation_has_no_flags() -> None:
    assert segment_flags(SOURCE, GOOD) == []


@pytest.mark.parametrize(
    "broken",
    [
        "Кошка сидела на подоконнике и смотрела, смотрела, смотрела, смотрела, смотрела, смотрела, смотрела, "
        "смотрела, смотрела, смотрела, смотрела, смотрела, смотрела, смотрела",
        "Кошка сидела на подоконнике!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        "Кошка сидела на подоконнике " + "ха" * 30,
    ],
    ids=["ngram-loop", "char-run", "syllable-loop"],
)
def test_repetition(broken: str) -> None:
    assert "repetition" in segment_flags(SOURCE, broken)


def test_repetition_by_compression_ratio_alone() -> None:
    config = CheckConfig(max_repeated_ngram_share=1.0, max_char_run=10_000)
    loop = "Она сказала, что придёт завтра утром. " * 12
    assert compression_ratio(loop) > config.max_compression_ratio
    assert segment_flags(SOURCE * 5, loop, config=config) == ["repetition"]
    assert (
        segment_flags(
            SOURCE * 5,
            loop,
            config=CheckConfig(max_repeated_ngram_share=1.0, max_char_run=10_000, max_compression_ratio=100.0),
        )
        == []
    )


def test_a_repetitive_source_may_be_repeated() -> None:
    source = "Row, row, row your boat. Row, row, row your boat. Row, row, row your boat. Row, row, row your boat."
    translation = "Греби, греби, греби в лодке. Греби, греби, греби в лодке. Греби, греби, греби в лодке. " * 1
    translation += "Греби, греби, греби в лодке."
    assert repeated_ngram_share(translation) > 0.4
    assert "repetition" not in segment_flags(source, translation)


@pytest.mark.parametrize("translation", ["Кошка.", GOOD + " " + GOOD + " " + GOOD + " " + GOOD])
def test_length_ratio(translation: str) -> None:
    assert "length_ratio" in segment_flags(SOURCE, translation)


def test_length_ratio_skips_short_sources() -> None:
    assert segment_flags("OK", "Хорошо") == []
    assert segment_flags("Yes.", "Да.") == []


def test_low_cyrillic() -> None:
    half = "The cat sat on the warm windowsill и смотрела на птиц."
    assert cyrillic_share(half) < 0.5
    assert segment_flags(SOURCE, half) == ["low_cyrillic"]


def test_low_cyrillic_skips_names_numbers_and_russian_sources() -> None:
    assert segment_flags("Barack Obama", "Barack Obama") == []
    assert segment_flags("Call 555-0100 at 10:30.", "Звоните 555-0100 в 10:30.") == []
    assert segment_flags("Use Python, NumPy and Pandas.", "Используйте Python, NumPy и Pandas.") == []
    assert segment_flags("Я люблю Москву и весну.", "Я люблю Москву и весну.") == []


def test_untranslated() -> None:
    assert segment_flags(SOURCE, SOURCE) == ["low_cyrillic", "untranslated"]
    assert "untranslated" in segment_flags(SOURCE, "  " + SOURCE.upper() + " ", config=CheckConfig())
    assert "untranslated" not in segment_flags("New York City", "New York City")


@pytest.mark.parametrize(
    ("translation", "ok"),
    [
        ("Выполните [1], затем [2].", True),
        ("Затем [2], сначала [ 1 ].", True),
        ("Выполните `ls`, затем `cd`.", True),  # already restored
        ("Выполните [1].", False),  # lost
        ("Выполните [1], [1] и [2].", False),  # duplicated
        ("Выполните [1], затем [3].", False),  # altered
    ],
)
def test_protected_span(translation: str, ok: bool) -> None:
    flags = segment_flags("Run [1], then [2].", translation, spans=("`ls`", "`cd`"))
    assert ("protected_span" not in flags) is ok


def test_invented_placeholder_is_flagged() -> None:
    assert segment_flags(SOURCE, GOOD + " [1]") == ["protected_span"]


def test_truncated() -> None:
    assert segment_flags(SOURCE, GOOD, hit_cap=True) == ["truncated"]


def test_flags_come_in_a_stable_order() -> None:
    flags = segment_flags(SOURCE, SOURCE + " [7]", hit_cap=True, spans=("`x`",))
    assert flags == [f for f in FLAGS if f in flags]
    assert merge_flags([["truncated"], [], ["repetition", "truncated"]]) == ["repetition", "truncated"]


def test_thresholds_are_configurable_and_reported() -> None:
    strict = CheckConfig(min_length_ratio=0.9)
    assert "length_ratio" in segment_flags(SOURCE, GOOD, config=strict)
    assert segment_flags(SOURCE, GOOD) == []
    report = CheckConfig().to_dict()
    assert report["min_cyrillic_share"] == 0.5 and report["max_char_run"] == 16
    assert json.loads(json.dumps(report)) == report
    assert CheckConfig.from_dict({"max_char_run": 8}).max_char_run == 8
    with pytest.raises(ConfigError, match="checks: unknown key 'max_char_runs'; did you mean 'max_char_run'") as e:
        CheckConfig.from_dict({"max_char_runs": 8})
    assert "min_cyrillic_share" in e.value.hint  # the allowed keys
    with pytest.raises(ConfigError, match="checks: 'max_char_run' must be an integer, got 'eight'"):
        CheckConfig.from_dict({"max_char_run": "eight"})
    with pytest.raises(ConfigError, match="'min_cyrillic_share' must be within"):
        CheckConfig(min_cyrillic_share=1.5)
    with pytest.raises(ConfigError, match="min_length_ratio"):
        CheckConfig(min_length_ratio=3.0, max_length_ratio=2.0)


# --- real human translations -------------------------------------------------------------------

# rulm's translators adapted these instead of translating them, or the task asks for English output:
# the checks are right to flag them.
ADAPTED = {
    ("seed_task_42", "input0"): ["length_ratio"],
    ("seed_task_63", "output0"): ["length_ratio"],
    ("seed_task_103", "input0"): ["length_ratio"],
    ("seed_task_117", "output0"): ["low_cyrillic"],  # Chinese -> English translation task
}


def _pairs() -> list[tuple[str, str, str, str]]:
    pairs = []
    for line in (DATA / "rulm_ru_alpaca_seed_tasks.jsonl").read_text(encoding="utf-8").splitlines():
        task = json.loads(line)
        pairs.append((task["id"], "instruction", task["orig_instruction"], task["instruction"]))
        for k, (en, ru) in enumerate(zip(task["orig_instances"], task["instances"], strict=True)):
            pairs += [(task["id"], f"input{k}", en["input"], ru["input"])]
            pairs += [(task["id"], f"output{k}", en["output"], ru["output"])]
    return pairs


def _prose(text: str) -> str:
    return " ".join(piece.text for piece in segment_text(text) if piece.translate)


def test_real_human_translations_pass_with_default_thresholds() -> None:
    pairs = _pairs()
    assert len(pairs) > 300
    flagged = {}
    checked = 0
    for task_id, field, en, ru in pairs:
        source, translation = _prose(en), _prose(ru)
        if source:
            checked += 1
            flags = segment_flags(source, translation)
            if flags:
                flagged[(task_id, field)] = flags
    assert checked > 250
    assert flagged == ADAPTED


# --- detectors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "def my_function(arg1, arg2):",
        "import numpy as np",
        "from os import path",
        "x = 10",
        "for item in items:",
        "if response.status_code == 200:",
        "console.log(currentDateTime);",
        "int main() {",
        "#include <stdio.h>",
        "SELECT name FROM users WHERE id = 1",
        "$ ls -la",
        "pip install requests",
        '<div class="box">',
        "print(data['name']) # prints John",
        "margin: 0 auto; /* center */",
        "return x;",
    ],
)
def test_looks_like_code(line: str) -> None:
    assert looks_like_code(line)


@pytest.mark.parametrize(
    "line",
    [
        "The cat sat on the mat.",
        "Import the data into a spreadsheet, then sort it.",
        "- Alien (1979)",
        "Contact (1997 film) is a great movie.",
        "If you want to learn: start small.",
        "Make sure you have Python installed.",
        "Git is a version control system.",
        "For example, the word 'return' means to come back.",
        "PLEASE EXPLAIN IT :(",
        "Gather their prices from trusted local vendors;",
    ],
)
def test_prose_does_not_look_like_code(line: str) -> None:
    assert not looks_like_code(line)


def test_looks_like_code_on_a_block() -> None:
    block = "import os\n\n# list files\nfor name in os.listdir('.'):\n    print(name)\n"
    assert looks_like_code(block)
    assert not looks_like_code("First line of prose.\nSecond line of prose.\nx = 1")
