"""MMLU / MMLU-RU: prompts, letter scoring, shots that do not fit, bad rows, and an exactly known accuracy."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from ru_llm.eval.models.hf import ModelSettings
from ru_llm.eval.run import evaluate
from ru_llm.eval.task import ChoiceRequest, TaskSettings
from ru_llm.eval.tasks.mmlu import MMLU, MMLU_RU

MMLU_DATA = Path(__file__).resolve().parent.parent / "data" / "mmlu"


class FixedModel:
    """A model whose answer is always the same letter: accuracy is the share of that gold letter."""

    device = "cpu"
    max_length = None
    stats = None

    def __init__(self, letter: int = 0, context_limit: int = 10**9) -> None:
        self.letter = letter
        self.context_limit = context_limit
        self.contexts: list[str] = []

    def describe(self) -> dict[str, Any]:
        return {"dtype": "float32", "prefix_cache": None}

    def identity(self) -> dict[str, Any]:
        return {"model": "fixed"}

    def fits(self, text: str) -> bool:
        return len(text) <= self.context_limit

    def loglikelihood(self, requests: Sequence[ChoiceRequest], progress: Callable[[int], None]) -> list[list[float]]:
        self.contexts += [r.context for r in requests]
        progress(len(requests))
        return [[0.0 if i == self.letter else -5.0 for i in range(len(r.continuations))] for r in requests]

    def loglikelihood_rolling(self, requests: Sequence[Any], progress: Callable[[int], None]) -> list[Any]:
        raise AssertionError("MMLU asks for no rolling log-likelihood")


def _copy_with_lines(tmp_path: Path, file: str, lines: dict[int, str]) -> tuple[Path, Path]:
    """The bundled data copied to ``tmp_path/mmlu`` with some lines of ``file`` (0-based) replaced:
    ``(data dir, that file)``."""
    data = tmp_path / "mmlu"
    shutil.copytree(MMLU_DATA, data, ignore=shutil.ignore_patterns("multiline"))
    path = data / file
    text = path.read_text(encoding="utf-8").split("\n")
    for index, line in lines.items():
        text[index] = line
    path.write_text("\n".join(text), encoding="utf-8")
    return data, path


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
    bad = {1: "Only three choices?,a,b,c,1", 2: "A bad answer letter,a,b,c,d,E"}
    data, path = _copy_with_lines(tmp_path, "test/anatomy_test.csv", bad)
    settings = TaskSettings(data=str(data), subjects=("anatomy",))
    results = evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, tmp_path / "r.json", model=FixedModel())
    task = results["tasks"]["mmlu"]
    assert task["counts"]["scored"] == 38 and task["counts"]["failed"] == 2 and task["counts"]["items"] == 40
    reasons = {f["id"]: f["reason"] for f in task["failures"]}
    assert reasons["anatomy/0"] == f"{path}:2: expected 6 columns, got 5"
    assert reasons["anatomy/1"] == f"{path}:3: bad answer 'E' (expected A-D or 0-3)"


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


# -- real files: quoted fields that span lines, numbering by record, bad rows with file:line -----------
MULTILINE = MMLU_DATA / "multiline"  # original MMLU rows with line breaks inside quoted fields


def _pandas_rows(path: Path) -> list[dict]:
    """The file as lm-eval's local CSV path reads it: pandas (HF datasets' csv builder), text cells kept."""
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_csv(path, keep_default_na=False, dtype=str)
    return frame.to_dict("records")


@pytest.mark.parametrize("path", sorted(MULTILINE.glob("*/*.csv")), ids=lambda p: p.name)
def test_quoted_fields_keep_their_line_breaks_as_lm_evals_csv_loader_reads_them(path: Path) -> None:
    from ru_llm.eval.tasks.mmlu import csv_rows

    ours = csv_rows(path.read_bytes(), path)
    theirs = _pandas_rows(path)
    assert len(ours) == len(theirs)
    for (where, row, problem), expected in zip(ours, theirs, strict=True):
        assert problem is None, where
        assert row == {
            "question": expected["question"],
            "choices": [expected[f"choice{i}"] for i in range(4)],
            "answer": expected["answer"],
        }
    assert any("\n" in row["question"] or any("\n" in c for c in row["choices"]) for _, row, _ in ours)


def test_line_breaks_survive_exactly_as_written() -> None:
    from ru_llm.eval.tasks.mmlu import csv_rows

    def rows(name: str) -> list:
        path = MULTILINE / "dev" / name
        return [row for _, row, _ in csv_rows(path.read_bytes(), path)]

    logic = rows("formal_logic_dev.csv")
    assert len(logic) == 5
    assert "predicate logic.\nDm\n(∀x)(Wx ⊃ ~Dx)\n(∀x)Wx ∨ Ag\t/ (∃x)Ax" in logic[2]["question"]
    assert logic[0]["question"].startswith(" Select")  # leading space kept (the prompt strips it, as lm-eval)
    assert "\r\nI. All of the entries of A^2 are nonnegative.\r\n" in rows("college_mathematics_dev.csv")[2]["question"]
    assert all("\n" in row["question"] for row in rows("high_school_us_history_dev.csv"))


def test_items_are_numbered_by_record_and_their_prompts_keep_line_breaks(tmp_path: Path) -> None:
    model = FixedModel()
    settings = TaskSettings(data=str(MULTILINE), subjects=("econometrics",), limit=12)
    results = evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, tmp_path / "r.json", model=model)
    items = results["tasks"]["mmlu"]["items"]
    assert [i["id"] for i in items] == [f"econometrics/{n}" for n in range(12)]  # the file has 95 lines by then
    theirs = _pandas_rows(MULTILINE / "test" / "econometrics_test.csv")
    gold = ["ABCD"[int(row["answer"])] for row in theirs[:12]]
    assert [i["gold"] for i in items] == gold
    question = theirs[8]["question"].strip()
    assert "\n" in question and model.contexts[8].endswith(
        question + "".join(f"\n{x}. {theirs[8][f'choice{i}']}" for i, x in enumerate("ABCD")) + "\nAnswer:"
    )
    shot = _pandas_rows(MULTILINE / "dev" / "econometrics_dev.csv")[1]["question"].strip()
    assert "\n" in shot and all(shot in context for context in model.contexts)


def _records(path: Path) -> list[tuple[int, int]]:
    """(first line, last line), 1-based, of each record after the header."""
    reader = csv.reader(path.open(encoding="utf-8", newline=""))
    spans, end = [], 0
    for _ in reader:
        spans.append((end + 1, reader.line_num))
        end = reader.line_num
    return spans[1:]


def test_bad_rows_are_failures_with_file_line_and_every_other_row_keeps_its_id(tmp_path: Path) -> None:
    data = tmp_path / "mmlu"
    shutil.copytree(MULTILINE, data)
    path = data / "test" / "econometrics_test.csv"
    spans = _records(path)
    lines = path.read_text(encoding="utf-8").split("\n")  # no CR in this file

    def replace(record: int, text: str) -> None:
        first, last = spans[record]
        lines[first - 1 : last] = [text] + [None] * (last - first)  # type: ignore[list-item]

    assert spans[8][1] > spans[8][0] and spans[11][1] > spans[11][0]  # records 8 and 11 span lines
    replace(3, '"An unclosed quote,a,b,c,d,0')
    replace(9, "Five columns,a,b,c,1")
    replace(12, "A bad answer,a,b,c,d,E")
    replace(39, '"Unclosed at the end,a,b,c,d,0')
    path.write_text("\n".join(line for line in lines if line is not None), encoding="utf-8")
    marks = {3: '"An unclosed', 9: "Five columns", 12: "A bad answer", 39: '"Unclosed at'}
    written = path.read_text(encoding="utf-8").split("\n")
    at = {n: next(i + 1 for i, line in enumerate(written) if line.startswith(m)) for n, m in marks.items()}

    settings = TaskSettings(data=str(data), subjects=("econometrics",), shots=1)
    results = evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, tmp_path / "r.json", model=FixedModel())
    task = results["tasks"]["mmlu"]
    reasons = {f["id"]: f["reason"] for f in task["failures"]}
    assert set(reasons) == {"econometrics/3", "econometrics/9", "econometrics/12", "econometrics/39"}
    assert reasons["econometrics/3"].startswith(f"{path}:{at[3]}: broken quoting")
    assert reasons["econometrics/9"] == f"{path}:{at[9]}: expected 6 columns, got 5"
    assert reasons["econometrics/12"] == f"{path}:{at[12]}: bad answer 'E' (expected A-D or 0-3)"
    assert reasons["econometrics/39"].startswith(f"{path}:{at[39]}: broken quoting")
    assert task["counts"] == {"items": 40, "scored": 36, "failed": 4, "reused_from_cache": 0}
    original = _pandas_rows(MULTILINE / "test" / "econometrics_test.csv")
    golds = {i["id"]: i["gold"] for i in task["items"]}
    for n, row in enumerate(original):  # every row not broken here is read as it was, under its own id
        if f"econometrics/{n}" not in reasons:
            assert golds[f"econometrics/{n}"] == "ABCD"[int(row["answer"])]


def test_a_bad_dev_row_is_reported_and_the_next_one_is_the_shot(tmp_path: Path) -> None:
    data, dev = _copy_with_lines(tmp_path, "dev/anatomy_dev.csv", {1: "No answer,a,b,c,d,"})
    model = FixedModel()
    settings = TaskSettings(data=str(data), subjects=("anatomy",), shots=2, limit=1)
    results = evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, tmp_path / "r.json", model=model)
    failures = results["tasks"]["mmlu"]["failures"]
    assert failures == [
        {"id": "anatomy/dev/0", "reason": f"{dev}:2: bad answer '' (expected A-D or 0-3) (not used as a shot)"}
    ]
    second, third = (row["question"] for row in _pandas_rows(MMLU_DATA / "dev" / "anatomy_dev.csv")[1:3])
    assert second.strip() in model.contexts[0] and third.strip() in model.contexts[0]
    assert results["tasks"]["mmlu"]["items"][0]["shots"] == 2


def test_jsonl_lines_that_are_not_rows_are_failures_with_file_line(tmp_path: Path) -> None:
    data = tmp_path / "ru"
    row = {"question_ru": "Сколько будет 2+2?", "choices_ru": ["3", "4", "5", "22"], "answer": 1}
    for split in ("dev", "test"):
        (data / split).mkdir(parents=True)
    (data / "dev" / "anatomy_dev.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    lines = [json.dumps(row), "", "{not json", "[1, 2]", json.dumps({**row, "answer": 7}), json.dumps(row)]
    path = data / "test" / "anatomy_test.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = evaluate(
        [("mmlu_ru", MMLU_RU)], ModelSettings("fake"), TaskSettings(data=str(data)), tmp_path / "r.json",
        model=FixedModel(1),
    )  # fmt: skip
    task = results["tasks"]["mmlu_ru"]
    reasons = {f["id"]: f["reason"] for f in task["failures"]}
    assert [i["id"] for i in task["items"]] == ["anatomy/0", "anatomy/4"]  # the blank line is no row
    assert reasons["anatomy/1"].startswith(f"{path}:3: invalid JSON")
    assert reasons["anatomy/2"] == f"{path}:4: not a JSON object"
    assert reasons["anatomy/3"] == f"{path}:5: bad answer 7 (expected A-D or 0-3)"


def test_a_file_that_is_not_utf8_is_one_error_naming_it(tmp_path: Path) -> None:
    from ru_llm.core.errors import ConfigError
    from ru_llm.eval.tasks.mmlu import csv_rows

    path = tmp_path / "x_test.csv"
    with pytest.raises(ConfigError, match=r"x_test.csv: not UTF-8 text \(byte 1\)"):
        csv_rows(b"Q\xff,a,b,c,d,A\n", path)


# -- error bars ------------------------------------------------------------------------------------
def test_standard_errors_are_lm_evals_for_the_same_per_item_scores(tmp_path: Path) -> None:
    """lm-eval's ``mmlu`` reports each subject's ``acc_stderr`` (sample stderr), and for its groups
    (``mmlu``, ``mmlu_stem``, …, weighted by size) the pooled stderr; a plain mean of groups gets
    ``unweighted_mean_stderr``. Fed the same per-item scores, ours must be those numbers."""
    metrics_module = pytest.importorskip("lm_eval.api.metrics")

    subjects = ("anatomy", "marketing", "world_religions", "college_computer_science", "econometrics")
    data = tmp_path / "mmlu"
    shutil.copytree(MMLU_DATA, data, ignore=shutil.ignore_patterns("multiline"))
    for split in ("dev", "test"):
        for path in (MULTILINE / split).glob("*.csv"):
            shutil.copy(path, data / split / path.name)
    settings = TaskSettings(data=str(data), subjects=subjects, shots=0, limit=25)
    results = evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, tmp_path / "r.json", model=FixedModel(2))
    metrics = results["tasks"]["mmlu"]["metrics"]
    scores = {s: [i["score"] for i in results["tasks"]["mmlu"]["items"] if i["subject"] == s] for s in subjects}
    assert all(0 < sum(v) < len(v) for v in scores.values())  # both right and wrong answers in each subject

    def group(names: list[str]) -> float:
        stderrs = [metrics_module.mean_stderr(scores[s]) for s in names]
        return float(metrics_module.pooled_sample_stderr(stderrs, [len(scores[s]) for s in names]))

    for s in subjects:
        assert metrics[f"subject/{s}_stderr"] == pytest.approx(metrics_module.mean_stderr(scores[s]), rel=1e-12)
    assert metrics["accuracy_stderr"] == pytest.approx(group(list(subjects)), rel=1e-12)
    categories = {"STEM": ["anatomy", "college_computer_science"], "other": ["marketing"],
                  "humanities": ["world_religions"], "social sciences": ["econometrics"]}  # fmt: skip
    for name, members in categories.items():
        assert metrics[f"category/{name}_stderr"] == pytest.approx(group(members), rel=1e-12)
    per_category = [metrics[f"category/{c}_stderr"] for c in ("STEM", "humanities", "social sciences", "other")]
    expected = float(metrics_module.unweighted_mean_stderr(per_category))
    assert metrics["macro_accuracy_stderr"] == pytest.approx(expected, rel=1e-12)
    assert "truncated_shots_stderr" not in metrics  # a count, not a mean
    written = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["tasks"]["mmlu"]["metrics"]
    assert written["accuracy_stderr"] == metrics["accuracy_stderr"]


# -- context length and the closing warning ----------------------------------------------------------
def test_the_context_is_found_where_lm_eval_finds_it() -> None:
    from types import SimpleNamespace as NS

    from ru_llm.eval.models.hf import DEFAULT_CONTEXT, context_length

    utils = pytest.importorskip("lm_eval.models.utils")
    none = 1000000000000000019884624838656  # transformers' "no limit"
    cases = [
        (NS(max_position_embeddings=32768), NS(model_max_length=none)),
        (NS(n_positions=1024, max_position_embeddings=4096), None),  # GPT-2's name first
        (NS(text_config=NS(max_position_embeddings=131072), max_position_embeddings=1200), None),  # composite
        (NS(), NS(model_max_length=8192)),
        (NS(), NS(model_max_length=none)),
        (NS(), None),
    ]
    for config, tokenizer in cases:
        ours = context_length(config, tokenizer) or DEFAULT_CONTEXT
        assert ours == utils.resolve_max_length(config, tokenizer), (config, tokenizer)
    assert context_length(NS(), None) is None and DEFAULT_CONTEXT == 2048  # a default, so not a limit


class ShortModel(FixedModel):
    """Prompts fit when they are at most ``max_length`` characters long."""

    def __init__(self, max_length: int) -> None:
        super().__init__(context_limit=max_length)
        self.max_length = max_length


def test_lost_shots_and_failures_end_the_run_with_a_warning_line(tmp_path: Path) -> None:
    from ru_llm.eval.commands.run_cmd import run_warnings

    data, path = _copy_with_lines(tmp_path, "test/anatomy_test.csv", {3: "A bad answer letter,a,b,c,d,E"})
    settings = TaskSettings(data=str(data), subjects=("anatomy", "marketing"), limit=10)
    out = tmp_path / "r.json"
    results = evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, out, model=ShortModel(900))
    assert results["model"]["max_length"] == 900
    cut = [i for i in results["tasks"]["mmlu"]["items"] if i["shots"] < 5]
    kept = sum(i["shots"] for i in cut) / len(cut)
    [line] = run_warnings(results, out)
    assert line == (
        f"warning: mmlu: {len(cut)} of 19 questions lost shots to fit 900 tokens ({kept:.1f} of 5 kept on average); "
        f"1 item failed, first anatomy/2: {path}:4: bad answer 'E' (expected A-D or 0-3) "
        f"(all under 'failures' in {out})"
    )
    whole = evaluate([("mmlu", MMLU)], ModelSettings("fake"), settings, tmp_path / "w.json", model=FixedModel())
    assert [w for w in run_warnings(whole, out) if "lost shots" in w] == []


@pytest.mark.slow
def test_the_context_defaults_to_the_models_and_the_run_says_what_it_cut(tiny_model, tmp_path: Path) -> None:
    from kit.dataset_cli import run as ru_llm

    out = tmp_path / "r.json"
    args = ["eval", "run", "mmlu", "--model", tiny_model("llama"), "--data", MMLU_DATA, "--subjects", "anatomy",
            "--limit", "4", "--device", "cpu", "--out", out]  # fmt: skip
    result = ru_llm(*args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["model"]["max_length"] == 256  # the tiny model's max_position_embeddings, not 2048
    assert data["settings"]["max_length"] is None
    items = data["tasks"]["mmlu"]["items"]
    assert all(i["shots"] < 5 for i in items)  # five anatomy shots need ~600 LLaMA tokens
    assert "warning: mmlu: 4 of 4 questions lost shots to fit 256 tokens" in " ".join(result.output.split())

    result = ru_llm(*args[:-1], tmp_path / "long.json", "--max-length", "4096")  # asking for more: the model's
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "long.json").read_text(encoding="utf-8"))["model"]["max_length"] == 256


@pytest.mark.slow
@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_scoring_only_the_last_positions_gives_the_full_logits_numbers(tiny_model, family: str) -> None:
    """The letters' log-probabilities come from the logits of each prompt's last position alone
    (``logits_to_keep``); they must equal those from every position's logits, no attention mask either way."""
    from ru_llm.eval.models.hf import HFEvalModel

    model = HFEvalModel(ModelSettings(str(tiny_model(family)), device="cpu", dtype="fp32", batch_size=4))
    settings = TaskSettings(data=str(MMLU_DATA), subjects=("anatomy",), shots=0, limit=6)
    requests = [MMLU.request(item, settings, model.fits) for item in MMLU.load(settings).items]
    assert len({len(model.encode(r.context)) for r in requests}) > 1  # rows padded to different lengths
    kept = model.loglikelihood(requests, lambda n: None)
    model._keeps_logits = False
    full = model.loglikelihood(requests, lambda n: None)
    assert kept == full
