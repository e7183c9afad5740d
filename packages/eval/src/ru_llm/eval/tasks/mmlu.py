"""MMLU and MMLU-RU: 5-shot multiple choice scored by the next-token probability of the answer letter.

Few-shot examples are the first k dev rows of the subject in file order. The prompt is the original
MMLU/Hendrycks format (as lm-evaluation-harness's ``mmlu`` task): a header, the shots, the question,
the lettered choices and ``Answer:``; the candidates are the continuations ``" A"`` … ``" D"``
(tokenized as they follow the prompt, so a tokenizer where the letter is ``" A"`` and one where it is
``"▁A"`` are treated alike). A prompt longer than the context drops shots from the end until it fits;
``truncated_shots`` counts the questions that needed it. MMLU-RU is the same task on NLPCoreTeam's
translation, with a Russian header and ``Ответ:``.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError, first_line
from ru_llm.eval.task import ChoiceRequest, Item, Request, TaskData, TaskSettings
from ru_llm.eval.tasks.mmlu_subjects import CATEGORIES, SUBJECTS

LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class MMLUVariant:
    name: str
    description: str
    hub_id: str
    question_field: str
    choices_field: str
    header: str  # with {subject}
    answer_word: str
    russian: bool = False


class MMLUTask:
    """Both variants share this code; they differ only in data and wording (a data variant, not a copy)."""

    def __init__(self, variant: MMLUVariant) -> None:
        self.variant = variant
        self.name = variant.name
        self.description = variant.description

    # -- data ----------------------------------------------------------------------------------------
    def load(self, settings: TaskSettings) -> TaskData:
        subjects = list(settings.subjects) or sorted(SUBJECTS)
        unknown = [s for s in subjects if s not in SUBJECTS]
        if unknown and settings.data is None:
            raise ConfigError(
                f"{self.name}: unknown subject {unknown[0]!r}", hint="subjects are MMLU's 57, e.g. anatomy"
            )
        shots = 5 if settings.shots is None else settings.shots
        digest = hashlib.sha256()
        items: list[Item] = []
        failed: list[dict[str, Any]] = []
        found_any = False
        for subject in subjects:
            test_rows = self._rows(settings.data, subject, "test", digest)
            if test_rows is None:
                if settings.subjects:
                    raise ConfigError(f"{self.name}: no test data for subject {subject!r} in {settings.data}")
                continue
            found_any = True
            dev_rows = self._rows(settings.data, subject, "dev", digest) or []
            examples = [r for _, r, problem in dev_rows if problem is None][:shots]
            if len(examples) < shots:
                failed.append(
                    {"id": f"{subject}/dev", "reason": f"only {len(examples)} usable dev rows for {shots} shots"}
                )
            # --limit counts per subject, as lm-evaluation-harness counts per subtask
            for row_number, row, problem in test_rows[: settings.limit]:
                item_id = f"{subject}/{row_number}"
                if problem is not None:
                    failed.append({"id": item_id, "reason": problem})
                    continue
                items.append(Item(item_id, {"subject": subject, "row": row, "shots": examples}))
        if not found_any:
            raise ConfigError(
                f"{self.name}: no test data found in {settings.data or self.variant.hub_id}",
                hint="give --data DIR with dev/ and test/ CSV or JSONL files per subject ({subject}_test.csv)",
            )
        return TaskData(items, settings.data or f"hf:{self.variant.hub_id}", digest.hexdigest(), failed)

    def _rows(
        self, data: str | None, subject: str, split: str, digest: Any
    ) -> list[tuple[int, dict, str | None]] | None:
        """``(row number, row, problem)`` for a subject's split; ``None`` when the file does not exist."""
        if data is None:
            return self._hub_rows(subject, split)
        root = Path(data).expanduser()
        for folder in (root / split, root / subject, root):
            for name in (f"{subject}_{split}.csv", f"{split}.csv", f"{subject}_{split}.jsonl", f"{split}.jsonl"):
                path = folder / name
                if path.is_file() and (folder != root / subject or name.startswith(split)):
                    raw = path.read_bytes()
                    digest.update(raw)
                    reader = _csv_rows if path.suffix == ".csv" else _jsonl_rows
                    return [(i, *self._check(row)) for i, row in enumerate(reader(raw, path))]
        return None

    def _hub_rows(self, subject: str, split: str) -> list[tuple[int, dict, str | None]] | None:
        from ru_llm.core.deps import require

        datasets = require("datasets", purpose=f"{self.name} from the hub", package="ru-llm-dataset", extra="hf")
        try:
            table = datasets.load_dataset(self.variant.hub_id, subject, split=split)
        except Exception as e:
            raise ConfigError(
                f"{self.name}: cannot load {self.variant.hub_id} ({subject}, {split}): {first_line(e)}",
                hint="offline? pass --data DIR with the MMLU CSV files",
            ) from None
        return [(i, *self._check(dict(row))) for i, row in enumerate(table)]

    def _check(self, row: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """A normalised row ``{question, choices, answer}`` and the problem that makes it unusable, if any."""
        v = self.variant
        question = row.get(v.question_field, row.get("question"))
        choices = row.get(v.choices_field, row.get("choices"))
        answer = row.get("answer")
        if not isinstance(question, str) or not question.strip():
            return row, "no question"
        if not isinstance(choices, list) or len(choices) != 4 or not all(isinstance(c, str) for c in choices):
            return row, f"expected 4 choices, got {len(choices) if isinstance(choices, list) else choices!r}"
        if isinstance(answer, str) and answer.strip().upper() in LETTERS:
            answer = LETTERS.index(answer.strip().upper())
        elif isinstance(answer, str) and answer.strip().isdigit():
            answer = int(answer)
        if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < 4:
            return row, f"bad answer {row.get('answer')!r} (expected A-D or 0-3)"
        return {"question": question, "choices": list(choices), "answer": answer}, None

    # -- prompts and scoring ---------------------------------------------------------------------------
    def format_example(self, row: dict[str, Any], *, with_answer: bool) -> str:
        lines = [row["question"].strip()]
        lines += [f"{letter}. {choice}" for letter, choice in zip(LETTERS, row["choices"], strict=True)]
        text = "\n".join(lines) + f"\n{self.variant.answer_word}:"
        return text + (f" {LETTERS[row['answer']]}\n\n" if with_answer else "")

    def prompt(self, subject: str, row: dict[str, Any], shots: list[dict[str, Any]]) -> str:
        if self.variant.russian:
            name = SUBJECTS.get(subject, ("", subject.replace("_", " ")))[1]
        else:
            name = subject.replace("_", " ")
        header = self.variant.header.format(subject=name)
        return (
            header
            + "".join(self.format_example(s, with_answer=True) for s in shots)
            + self.format_example(row, with_answer=False)
        )

    def request(self, item: Item, settings: TaskSettings, fits: Callable[[str], bool]) -> Request:
        shots = list(item.data["shots"])
        while True:
            context = self.prompt(item.data["subject"], item.data["row"], shots)
            if fits(context) or not shots:
                break
            shots.pop()
        if not fits(context):
            raise ConfigError(f"{item.id}: the question does not fit the context even with zero shots")
        item.data["used_shots"] = len(shots)
        return ChoiceRequest(context, tuple(f" {letter}" for letter in LETTERS))

    def score(self, item: Item, request: Request, response: Any) -> dict[str, Any]:
        logprobs = list(response)
        best = max(range(4), key=lambda i: logprobs[i])
        gold = LETTERS[item.data["row"]["answer"]]
        return {
            "id": item.id,
            "subject": item.data["subject"],
            "prediction": LETTERS[best],
            "gold": gold,
            "score": float(LETTERS[best] == gold),
            "shots": item.data.get("used_shots", len(item.data["shots"])),
            "max_shots": len(item.data["shots"]),
            "logprobs": [round(x, 6) for x in logprobs],
        }

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, float]:
        if not records:
            return {}
        by_subject: dict[str, list[float]] = defaultdict(list)
        for r in records:
            by_subject[r["subject"]].append(r["score"])
        metrics: dict[str, float] = {"accuracy": sum(r["score"] for r in records) / len(records)}
        category_means = []
        for category in CATEGORIES:
            subjects = [s for s in by_subject if SUBJECTS.get(s, ("other",))[0] == category]
            if subjects:
                scores = [x for s in subjects for x in by_subject[s]]
                metrics[f"category/{category}"] = sum(scores) / len(scores)
                category_means.append(metrics[f"category/{category}"])
        metrics["macro_accuracy"] = sum(category_means) / len(category_means)
        for subject, scores in sorted(by_subject.items()):
            metrics[f"subject/{subject}"] = sum(scores) / len(scores)
        metrics["truncated_shots"] = float(sum(1 for r in records if r.get("shots", 0) < r.get("max_shots", 0)))
        return metrics


def _csv_rows(raw: bytes, path: Path) -> Iterator[dict[str, Any]]:
    """Hendrycks CSV (no header: question, A, B, C, D, answer letter) or with a header row."""
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(text.split("\n")))
    rows = [r for r in rows if r]
    if rows and [c.strip().lower() for c in rows[0][:1]] == ["question"]:
        rows = rows[1:]
    for row in rows:
        if len(row) < 3:
            yield {"question": row[0] if row else "", "choices": row[1:-1], "answer": None}
            continue
        yield {"question": row[0], "choices": row[1:-1], "answer": row[-1]}


def _jsonl_rows(raw: bytes, path: Path) -> Iterator[dict[str, Any]]:
    for lineno, line in enumerate(raw.decode("utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as e:
            yield {"question": None, "problem": f"{path}:{lineno}: not JSON ({first_line(e)})"}
            continue
        yield value if isinstance(value, dict) else {"question": None}


MMLU = MMLUTask(
    MMLUVariant(
        name="mmlu",
        description="MMLU (57 subjects), 5-shot, answer-letter probabilities; cais/mmlu or local CSV",
        hub_id="cais/mmlu",
        question_field="question",
        choices_field="choices",
        header="The following are multiple choice questions (with answers) about {subject}.\n\n",
        answer_word="Answer",
    )
)
MMLU_RU = MMLUTask(
    MMLUVariant(
        name="mmlu_ru",
        description="MMLU-RU (NLPCoreTeam translation), 5-shot, answer-letter probabilities",
        hub_id="NLPCoreTeam/mmlu_ru",
        question_field="question_ru",
        choices_field="choices_ru",
        header="Ниже приведены вопросы с множественным выбором (с ответами) по {subject}.\n\n",
        answer_word="Ответ",
        russian=True,
    )
)
