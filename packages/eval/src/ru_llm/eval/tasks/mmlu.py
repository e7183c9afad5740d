"""MMLU and MMLU-RU: 5-shot multiple choice scored by the next-token probability of the answer letter.

Few-shot examples are the first k dev rows of the subject in file order. The prompt is the original
MMLU/Hendrycks format (as lm-evaluation-harness's ``mmlu`` task): a header, the shots, the question,
the lettered choices and ``Answer:``; the candidates are the continuations ``" A"`` … ``" D"``
(tokenized as they follow the prompt, so a tokenizer where the letter is ``" A"`` and one where it is
``"▁A"`` are treated alike). A prompt longer than the context drops shots from the end until it fits;
``truncated_shots`` counts the questions that needed it. A request names its header and shots as its
``prefix``, which the model runs once per subject (and per number of shots). MMLU-RU is the same task
on NLPCoreTeam's translation, with a Russian header and ``Ответ:``.

Local files are read as lm-eval reads them (:func:`csv_rows`, :func:`jsonl_rows`): CSV record by
record, quoted fields keeping their line breaks; an item's row is its record's number, not its line's;
a row that cannot be used is a failure whose reason starts with its ``file:line``.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError, first_line
from ru_llm.eval.stats import add_mean, mean_stderr, pooled_stderr, unweighted_mean_stderr
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
            examples: list[dict[str, Any]] = []
            dev_rows = (self._rows(settings.data, subject, "dev", digest) or []) if shots else []
            for row_number, row, problem in dev_rows:
                if len(examples) == shots:
                    break
                if problem is None:
                    examples.append(row)
                else:  # reported, and the next dev row is the shot, so no row is dropped unseen
                    failed.append({"id": f"{subject}/dev/{row_number}", "reason": f"{problem} (not used as a shot)"})
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
        """``(row number, row, problem)`` for a subject's split; ``None`` when the file does not exist.

        The row number counts records (a quoted field may span lines), from 0 after any header, as
        lm-eval numbers its documents; a problem starts with the row's ``file:line``."""
        if data is None:
            return self._hub_rows(subject, split)
        root = Path(data).expanduser()
        for folder in (root / split, root / subject, root):
            for name in (f"{subject}_{split}.csv", f"{split}.csv", f"{subject}_{split}.jsonl", f"{split}.jsonl"):
                path = folder / name
                if path.is_file() and (folder != root / subject or name.startswith(split)):
                    raw = path.read_bytes()
                    digest.update(raw)
                    if path.suffix == ".csv":
                        found = csv_rows(raw, path, self.variant.question_field)
                    else:
                        found = jsonl_rows(path)
                    return [(i, *self._located(where, row, problem)) for i, (where, row, problem) in enumerate(found)]
        return None

    def _located(self, where: str, row: dict[str, Any] | None, problem: str | None) -> tuple[dict, str | None]:
        if row is not None and problem is None:
            row, problem = self._check(row)
        return row or {}, None if problem is None else f"{where}: {problem}"

    def _hub_rows(self, subject: str, split: str) -> list[tuple[int, dict, str | None]] | None:
        from ru_llm.core.deps import require_datasets

        datasets = require_datasets(f"{self.name} from the hub", package="ru-llm-eval")
        try:
            table = datasets.load_dataset(self.variant.hub_id, subject, split=split)
        except Exception as e:
            raise ConfigError(
                f"{self.name}: cannot load {self.variant.hub_id} ({subject}, {split}): {first_line(e)}",
                hint="offline? pass --data DIR with the MMLU CSV files",
            ) from None
        where = f"{self.variant.hub_id} {subject} {split}"
        return [(i, *self._located(f"{where} row {i}", dict(row), None)) for i, row in enumerate(table)]

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
        # the header and the shots: every question of the subject given as many shots repeats them
        prefix = context[: len(context) - len(self.format_example(item.data["row"], with_answer=False))]
        return ChoiceRequest(context, tuple(f" {letter}" for letter in LETTERS), prefix=prefix)

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
        """Accuracies with their standard errors, as lm-eval's ``mmlu`` groups report them: a subject's
        is the sample stderr; ``accuracy`` and each category are size-weighted over their subjects
        (pooled stderr); ``macro_accuracy``, the plain mean of the categories, has the stderr of a plain
        mean (see ``ru_llm.eval.stats``)."""
        if not records:
            return {}
        by_subject: dict[str, list[float]] = defaultdict(list)
        for r in records:
            by_subject[r["subject"]].append(r["score"])
        metrics: dict[str, float] = {}
        add_mean(metrics, "accuracy", _mean([r["score"] for r in records]), pooled_stderr(list(by_subject.values())))
        category_means, category_stderrs = [], []
        for category in CATEGORIES:
            groups = [by_subject[s] for s in by_subject if SUBJECTS.get(s, ("other",))[0] == category]
            if groups:
                category_means.append(_mean([x for g in groups for x in g]))
                category_stderrs.append(pooled_stderr(groups))
                add_mean(metrics, f"category/{category}", category_means[-1], category_stderrs[-1])
        add_mean(metrics, "macro_accuracy", _mean(category_means), unweighted_mean_stderr(category_stderrs))
        for subject, scores in sorted(by_subject.items()):
            add_mean(metrics, f"subject/{subject}", _mean(scores), mean_stderr(scores))
        metrics["truncated_shots"] = float(sum(1 for r in records if r.get("shots", 0) < r.get("max_shots", 0)))
        return metrics


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


# -- readers: every record of the file, in order, with where it starts --------------------------------
Located = tuple[str, dict[str, Any] | None, str | None]  # (file:line, row or None, problem or None)
_NOT_CHOICES = ("answer", "subject", "id")


def csv_rows(raw: bytes, path: Path, question_field: str = "question") -> list[Located]:
    """The records of an MMLU CSV as ``(file:line, {question, choices, answer}, problem)``.

    Read as lm-eval's CSV loader (pandas through HF ``datasets``) and the original ``cais/mmlu``
    builder read them: a quoted field keeps its line breaks (``\\n`` or ``\\r\\n``), blank lines are
    not records. Without a header a record is Hendrycks' ``question, A, B, C, D, answer``; with one
    (its first record names a ``question…`` and an ``answer`` column), ``question_field`` (else
    ``question``) is the question, ``answer`` the answer and the other columns but ``subject``/``id``
    the choices, in file order. A record with the wrong number of columns is a row with a problem; so
    is broken quoting, and reading goes on at the line after the one where that record started.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start})", hint="save the file as UTF-8") from None
    lines = list(io.StringIO(text, newline=""))  # line ends kept as written, so quoted fields keep theirs
    records: list[tuple[int, list[str] | None, str | None]] = []  # (first line, fields, problem)
    start = 0
    while start < len(lines):
        reader = csv.reader(iter(lines[start:]), strict=True)
        done = 0  # lines of this pass consumed by complete records
        try:
            for fields in reader:
                records.append((start + done + 1, fields, None))
                done = reader.line_num
            break
        except csv.Error as e:
            records.append((start + done + 1, None, f"broken quoting ({e}) in the record starting here"))
            start += done + 1
    records = [r for r in records if r[1] is None or any(cell.strip() for cell in r[1])]
    header: list[str] | None = None
    if records and records[0][1] is not None:
        names = [cell.strip().lower() for cell in records[0][1]]
        if "answer" in names and any(n.startswith("question") for n in names):
            header = names
            records = records[1:]
    width = len(header) if header else 6
    found: list[Located] = []
    for line, fields, problem in records:
        where = f"{path}:{line}"
        if fields is None or problem is not None:
            found.append((where, None, problem))
        elif len(fields) != width:
            found.append((where, None, f"expected {width} columns, got {len(fields)}"))
        elif header is None:
            found.append((where, {"question": fields[0], "choices": fields[1:5], "answer": fields[5]}, None))
        else:
            cells = dict(zip(header, fields, strict=True))
            question = question_field if question_field in cells else "question"
            choices = [
                c for n, c in zip(header, fields, strict=True) if n not in _NOT_CHOICES and not n.startswith("question")
            ]
            found.append(
                (where, {"question": cells.get(question), "choices": choices, "answer": cells["answer"]}, None)
            )
    return found


def jsonl_rows(path: Path) -> list[Located]:
    """The records of a JSONL file (one object per non-blank line) as ``(file:line, object, problem)``."""
    from ru_llm.core.jsonl import JsonlReader

    found: list[Located] = []
    reader = JsonlReader(
        path,
        lambda obj, location: (location, obj),
        strict=False,
        on_reject=lambda r: found.append((f"{r.file}:{r.line}", None, r.reason)),
    )
    for location, obj in reader:
        found.append((location, obj, None) if isinstance(obj, dict) else (location, None, "not a JSON object"))
    return found


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
