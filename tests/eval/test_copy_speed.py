"""copy, generation_speed and tokenizer_efficiency: metric definitions on constructed models, tiny real ones."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from kit.train_data import one_line_error

from ru_llm.eval.models.hf import ModelSettings
from ru_llm.eval.run import evaluate
from ru_llm.eval.task import GenerateRequest, Generation, TaskSettings
from ru_llm.eval.tasks.copy import Copy, lcs_length, length_ratio, similarity
from ru_llm.eval.tasks.speed import GenerationSpeed
from ru_llm.eval.tasks.tokenizer_efficiency import TokenizerEfficiency

TEXT = Path(__file__).resolve().parent.parent / "data" / "text" / "ru_ud_gsd_dev.txt"
ENGLISH = ["The cat sat on the mat.", "Copy this sentence, please: it is short."]


def _texts(tmp_path: Path, n: int = 8, english: bool = True) -> Path:
    lines = TEXT.read_text(encoding="utf-8").splitlines()[:n] + (ENGLISH if english else [])
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")  # a trailing blank line is skipped
    return path


class FakeModel:
    """Answers each generation with ``answer(prompt)``, taking ``seconds`` and ``tokens`` as given."""

    device = "cpu"
    max_length = None
    stats = None

    def __init__(self, answer: Callable[[str], str], seconds: float = 0.5, tokens: int = 10) -> None:
        self.answer = answer
        self.seconds = seconds
        self.tokens = tokens
        self.requests: list[GenerateRequest] = []

    def describe(self) -> dict[str, Any]:
        return {"dtype": None, "prefix_cache": None}

    def identity(self) -> dict[str, Any]:
        return {"model": "fake"}

    def fits(self, text: str) -> bool:
        return True

    def generate(self, requests: Sequence[GenerateRequest], progress: Callable[[int], None]) -> list[Generation]:
        self.requests += requests
        progress(len(requests))
        return [Generation(self.answer(r.prompt), seconds=self.seconds, tokens=self.tokens) for r in requests]


def _source(prompt: str) -> str:
    """The text a copy prompt asks to repeat."""
    return prompt.split("Текст: " if prompt.startswith("Повтори") else "Text: ", 1)[1].rsplit("\n", 1)[0]


def test_a_model_that_copies_perfectly_gets_1_and_prompts_follow_the_language(tmp_path: Path) -> None:
    model = FakeModel(lambda prompt: " " + _source(prompt))
    settings = TaskSettings(data=str(_texts(tmp_path)))
    results = evaluate([("copy", Copy())], ModelSettings("fake"), settings, tmp_path / "r.json", model=model)
    task = results["tasks"]["copy"]
    assert task["counts"] == {"items": 10, "scored": 10, "failed": 0, "reused_from_cache": 0}
    metrics = task["metrics"]
    assert metrics["length_ratio"] == metrics["copy_rate"] == metrics["similarity"] == metrics["exact_match"] == 1.0
    assert metrics["hit_token_limit"] == 0
    first, last = model.requests[0], model.requests[-1]
    source = TEXT.read_text(encoding="utf-8").splitlines()[0]
    assert first.prompt == f"Повтори текст дословно.\nТекст: {source}\nПовтор:"
    assert last.prompt == f"Repeat the text exactly.\nText: {ENGLISH[1]}\nRepeat:"
    assert first.stop == ("\n",) and first.max_new_tokens == math.ceil(1.5 * len(source) / 2) + 2
    assert [i["language"] for i in task["items"]] == ["ru"] * 8 + ["en"] * 2


def test_copy_metrics_half_copies_typos_and_paraphrases(tmp_path: Path) -> None:
    text = "Стропило, означающее победителя, окрашено в красный цвет " * 4  # 228 characters
    assert length_ratio(text[: len(text) // 2], text) == 0.5
    assert length_ratio(text + text, text) == 0.5
    assert length_ratio("", text) == 0.0
    typo = text[:100] + "ф" + text[101:]
    # one wrong letter in 228 still counts as a copy (difflib's greedy blocks pair the repeats wrongly: 0.75)
    assert similarity(typo, text) == 2 * 227 / 456
    assert similarity("совсем другой ответ", text) < 0.3
    rng = random.Random(0)
    for _ in range(200):  # the bit-parallel LCS against the textbook table
        a = "".join(rng.choices("абвг ", k=rng.randrange(0, 70)))
        b = "".join(rng.choices("абвг ", k=rng.randrange(0, 70)))
        table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
        assert lcs_length(a, b) == table[-1][-1]

    answers = {0: lambda s: s, 1: lambda s: s[: len(s) // 2], 2: lambda s: s[:10] + "Ж" + s[11:], 3: lambda s: ""}
    lines = [text.strip(), "Короткий текст для повтора, не длиннее строки.", text.strip(), "Ещё один текст."]
    path = tmp_path / "copy.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    n = iter(range(4))
    model = FakeModel(lambda prompt: answers[next(n)](_source(prompt)), tokens=10**6)
    results = evaluate([("copy", Copy())], ModelSettings("fake"), TaskSettings(data=str(path)), tmp_path / "r.json",
                       model=model)  # fmt: skip
    metrics = results["tasks"]["copy"]["metrics"]
    assert metrics["copy_rate"] == 0.5  # the exact one and the one-letter typo in 227 characters
    assert metrics["exact_match"] == 0.25
    ratio_of_half = 23 / 46  # the 46-character line cut to its first 23
    assert metrics["length_ratio"] == pytest.approx((1 + ratio_of_half + 1 + 0) / 4, abs=1e-6)
    assert metrics["hit_token_limit"] == 4


def test_copy_speed_and_tokenizer_efficiency_ask_for_data_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ru_llm.cli.app import build_app

    model = tmp_path / "model"  # looks like a model on disk; the missing --data is found before it loads
    model.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (model / name).write_text("{}", encoding="utf-8")
    for task in ("copy", "generation_speed", "tokenizer_efficiency"):
        out = tmp_path / "r.json"
        result = CliRunner().invoke(build_app(), ["eval", "run", task, "--model", str(model), "--out", str(out)])
        assert f"{task} needs --data {task}=FILE" in one_line_error(result)
        assert not out.exists()
    listed = CliRunner().invoke(build_app(), ["eval", "tasks", "--json"])
    names = {row["name"] for row in json.loads(listed.stdout)}
    assert {"copy", "generation_speed", "tokenizer_efficiency"} <= names


def test_speed_metrics_are_totals_over_the_timed_generations(tmp_path: Path) -> None:
    path = tmp_path / "prompts.txt"
    path.write_text("Расскажи о Москве.\nНапиши стихотворение.\n", encoding="utf-8")
    model = FakeModel(lambda prompt: "Москва -- столица России.", seconds=0.25, tokens=8)  # 25 chars, 19 Cyrillic
    settings = TaskSettings(data=str(path), max_new_tokens=8)
    speed = GenerationSpeed()
    results = evaluate([("generation_speed", speed)], ModelSettings("fake"), settings, tmp_path / "r.json",
                       model=model)  # fmt: skip
    metrics = results["tasks"]["generation_speed"]["metrics"]
    assert [r.max_new_tokens for r in model.requests] == [8, 8] and model.requests[0].stop == ()
    assert metrics == pytest.approx(
        {"cyrillic_chars_per_second": 38 / 0.5, "characters_per_second": 50 / 0.5, "tokens_per_second": 16 / 0.5,
         "characters_per_token": 50 / 16, "seconds": 0.5, "tokens": 16.0}
    )  # fmt: skip
    item = speed.load(TaskSettings(data=str(path))).items[0]
    assert speed.request(item, TaskSettings(), lambda t: True) == GenerateRequest("Расскажи о Москве.", 64)


@pytest.mark.slow
def test_a_random_tiny_model_copies_badly_and_its_generations_are_timed(tiny_model, tmp_path: Path) -> None:
    from ru_llm.eval.models.hf import HFEvalModel

    model = HFEvalModel(ModelSettings(str(tiny_model("llama")), device="cpu"))
    data = str(_texts(tmp_path, n=3, english=False))
    settings = TaskSettings(max_new_tokens=10)
    results = evaluate(
        [("copy", Copy()), ("generation_speed", GenerationSpeed())], ModelSettings("tiny"), settings,
        tmp_path / "r.json", model=model, data={"copy": data, "generation_speed": data},
    )  # fmt: skip
    copy = results["tasks"]["copy"]["metrics"]
    assert copy["copy_rate"] == 0.0 and copy["exact_match"] == 0.0
    assert copy["similarity"] < 0.5 and copy["length_ratio"] < 0.5
    speed = results["tasks"]["generation_speed"]
    assert all(0 < r["tokens"] <= 10 and r["seconds"] > 0 for r in speed["items"])
    assert speed["metrics"]["tokens_per_second"] > 0 and speed["metrics"]["characters_per_token"] > 0

    [answer] = model.generate([GenerateRequest("Привет", 5)], lambda n: None)
    assert isinstance(answer, str) and answer.tokens is not None and answer.tokens <= 5 and answer.seconds > 0


@pytest.mark.slow
def test_tokenizer_efficiency_is_ru_llm_tokenize_stats_of_the_models_tokenizer(tiny_model, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from ru_llm.tokenize.stats import tokenizer_stats

    path = tiny_model("llama")
    data = _texts(tmp_path, n=40)
    results = evaluate([("tokenizer_efficiency", TokenizerEfficiency())], ModelSettings(str(path), device="cpu"),
                       TaskSettings(data=str(data)), tmp_path / "r.json")  # fmt: skip
    metrics = results["tasks"]["tokenizer_efficiency"]["metrics"]
    lines = [line for line in data.read_text(encoding="utf-8").split("\n") if line.strip()]
    expected = tokenizer_stats(AutoTokenizer.from_pretrained(path), lines)
    assert metrics == pytest.approx({k: float(v) for k, v in expected.items()})
    assert 1.5 < metrics["chars_per_token"] < 4 and metrics["cyrillic_chars_per_token"] > 1
    assert results["tasks"]["tokenizer_efficiency"]["counts"]["scored"] == 42
