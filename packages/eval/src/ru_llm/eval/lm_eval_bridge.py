"""``lm_eval:<task>``: any lm-evaluation-harness task, run on the model ``ru-llm eval run`` loaded.

``ru-llm eval run mmlu,lm_eval:hellaswag --model DIR [--adapter DIR]`` hands lm-eval the model object
ru-llm already loaded (weights, adapter, device and dtype included) with its tokenizer, wrapped in
lm-eval's own ``HFLM``, and lm-eval runs the task its way (its prompts, its batching, its metrics). The
results are folded into the same results JSON under ``tasks["lm_eval:<task>"]``:

* ``metrics``: lm-eval's numbers for the task (or group) as lm-eval names them, ``"<metric>,<filter>"``
  (``"acc,none"``, ``"acc_stderr,none"``, ``"exact_match,strict-match"``); for a tag or a group
  without an aggregate, every task's as ``"<task>/<metric>,<filter>"``;
* ``subtasks``: the same per subtask of a group;
* ``items``: one record per document and filter from lm-eval's logged samples, ``id`` ``"<task>/<doc_id>"``
  (``"/<filter>"`` added where a task has several filters), the prediction, the gold answer, the
  per-item metrics and, for multiple-choice tasks, the log-likelihood of each choice;
* ``lm_eval``: its version, the task versions, shots and sample counts.

Settings map onto lm-eval's: ``--shots`` is ``num_fewshot`` (the task's own default without it),
``--limit`` its per-task ``limit``, ``--chat-template`` its ``apply_chat_template``,
``--add-bos/--no-add-bos`` its ``add_bos_token``, ``--batch-size`` and ``--max-length`` the model's.
``--data lm_eval:<task>=PATH`` is an include path: a folder of task YAML files (or one YAML file) to
find the task in, besides lm-eval's own. Model answers are cached by lm-eval next to the results file
(``OUT.<key>_rank0.db``, keyed by the model, settings and task), so a repeated run costs nothing.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import logging
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ru_llm.core.errors import ConfigError, RuLLMError, first_line
from ru_llm.eval.task import TaskData, TaskSettings

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from ru_llm.eval.model import EvalModel

PREFIX = "lm_eval:"


def lm_eval_module() -> ModuleType:
    """``lm_eval``, or one line naming ``pip install "ru-llm-eval[lm-eval]"``."""
    from ru_llm.core.deps import require

    return require("lm_eval", purpose="lm_eval: tasks", package="ru-llm-eval", extra="lm-eval")


def lm_eval_task_names() -> frozenset[str] | None:
    """The task, group and tag names lm-evaluation-harness ships, read from its task YAML files without
    importing it (about a second; only an unknown task name asks); ``None`` when it is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("lm_eval")
    if spec is None or spec.origin is None:
        return None
    return _shipped_names(Path(spec.origin).parent / "tasks")


def lm_eval_task_file(name: str) -> bool:
    """Whether lm-evaluation-harness ships a task file named ``NAME.yaml`` (a quick look, no reading)."""
    import importlib.util

    spec = importlib.util.find_spec("lm_eval")
    if spec is None or spec.origin is None or not _TASK_NAME.fullmatch(name):
        return False
    return any(
        (Path(folder) / f"{name}.yaml").is_file() for folder, _, _ in os.walk(Path(spec.origin).parent / "tasks")
    )


def lm_eval_may_ship(name: str) -> bool:
    """Whether lm-evaluation-harness's own task index could hold ``name``: ``False`` only when no task
    YAML or template it ships contains the text at all (its index takes every name from them), a second's
    reading instead of the ~10 CPU-seconds of building its index."""
    import importlib.util

    spec = importlib.util.find_spec("lm_eval")
    if spec is None or spec.origin is None:
        return False
    return any(name in text for text in _shipped_texts(Path(spec.origin).parent / "tasks"))


@functools.cache
def _shipped_texts(root: Path) -> tuple[str, ...]:
    """Every task YAML under ``root`` and the templates they include (``_default_template_yaml``)."""
    texts = []
    for path in sorted(root.rglob("*")):
        if not (path.name.endswith("yaml") or "." not in path.name) or not path.is_file():
            continue
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
    return tuple(texts)


@functools.cache
def _shipped_names(root: Path) -> frozenset[str]:
    names: set[str] = set()
    for text in _shipped_texts(root):
        for match in _NAME_KEY.finditer(text):
            value, items = match.group(1), match.group(2)
            names.update([value] if value else _LIST_ITEM.findall(items or ""))
    cleaned = (n.strip().strip("'\"").strip() for n in names)
    return frozenset(n for n in cleaned if _TASK_NAME.fullmatch(n) and n != "null")


# `task: name`, `"task": "name"`, or a key followed by a block list (`tag:` then `  - name` lines)
_NAME_KEY = re.compile(
    r"""^["']?(?:task|group|tag)["']?[ \t]*:[ \t]*(?:([^\s#\[{][^#\n]*?)[ \t]*$|\n((?:[ \t]*-[^\n]*\n?)+))""",
    re.MULTILINE,
)
_TASK_NAME = re.compile(r"[\w.+-]+")
_LIST_ITEM = re.compile(r"^[ \t]*-[ \t]*([^\s#][^#\n]*?)[ \t]*$", re.MULTILINE)


class LMEvalTask:
    """One lm-evaluation-harness task (or group, or tag); a whole-run task: lm-eval runs its items itself."""

    def __init__(self, task: str) -> None:
        if not task:
            raise ConfigError(f"{PREFIX}: no lm-eval task named", hint="e.g. lm_eval:hellaswag")
        self.task = task
        self.name = PREFIX + task
        self.description = f"lm-evaluation-harness task {task!r}"
        self._manager: Any = None

    # -- before the model loads: lm-eval is there and knows the task -------------------------------
    def load(self, settings: TaskSettings) -> TaskData:
        lm_eval = lm_eval_module()
        include = _include_path(settings.data, self.name)
        self._manager = _task_manager(self.task, include)
        if self.task not in self._manager.all_tasks:
            known = set(self._manager.all_tasks) | (lm_eval_task_names() or frozenset())
            close = difflib.get_close_matches(self.task, sorted(known), n=3)
            hint = f"close: {', '.join(close)}" if close else "`lm-eval ls tasks` lists them"
            where = f" (nor in {include})" if include else ""
            raise ConfigError(f"{self.name}: lm-evaluation-harness has no task {self.task!r}{where}", hint=hint)
        version = getattr(lm_eval, "__version__", None) or _dist_version()
        source = f"lm-eval {version}: {self.task}" + (f" from {include}" if include else "")
        return TaskData([], source, _hash_tree(include) if include else None)

    # -- the run -----------------------------------------------------------------------------------
    def run(
        self,
        model: EvalModel,
        settings: TaskSettings,
        cache: Path | None,
        progress: Callable[[str, int], Callable[[int], None]] | None = None,
    ) -> dict[str, Any]:
        """Run the task with lm-eval on ``model``; the task's entry of the results JSON (less ``data``, ``time_s``).
        lm-eval shows its own progress."""
        from ru_llm.eval.models.hf import HFEvalModel

        if not isinstance(model, HFEvalModel):
            raise ConfigError(
                f"{self.name}: lm-evaluation-harness runs on a model loaded here (--model-kind hf)",
                hint="for a served model, run lm-eval's own local-completions model against the server",
            )
        lm_eval = lm_eval_module()
        from lm_eval.models.huggingface import HFLM

        if self._manager is None:
            self.load(settings)
        cuda = str(model.device).startswith("cuda")
        hf_logger = logging.getLogger(HFLM.__module__)
        level = hf_logger.level
        hf_logger.setLevel(logging.ERROR)  # its warnings that a model object (not a path) was passed: we mean to
        try:
            lm = HFLM(
                pretrained=model.model,
                tokenizer=model.tokenizer,
                backend="causal",
                batch_size=model.settings.batch_size or ("auto" if cuda else 8),
                max_length=model.max_length,
                add_bos_token=model.settings.add_bos,
                trust_remote_code=model.settings.trust_remote_code,
            )
        finally:
            hf_logger.setLevel(level)
        before = _cached_answers(cache)
        try:
            out = lm_eval.simple_evaluate(
                model=lm,
                tasks=[self.task],
                num_fewshot=settings.shots,
                limit=settings.limit,
                log_samples=True,
                task_manager=self._manager,
                apply_chat_template=settings.chat_template,
                gen_kwargs=f"max_gen_toks={settings.max_new_tokens}" if settings.max_new_tokens else None,  # 0.4.8: str
                use_cache=str(cache) if cache else None,
            )
        except RuLLMError:
            raise
        except (ValueError, KeyError, TypeError, AssertionError, OSError, ImportError, RuntimeError) as e:
            raise ConfigError(f"{self.name}: lm-evaluation-harness failed: {first_line(e)}") from e
        if out is None:  # a non-zero rank of a distributed run: nothing to report
            raise ConfigError(f"{self.name}: lm-evaluation-harness returned no results")
        entry = fold_results(self.task, out)
        after = _cached_answers(cache)
        reused = entry["counts"]["scored"] if before and before >= after else 0
        entry["counts"]["reused_from_cache"] = reused
        return entry


# -- folding lm-eval's output into a results entry -------------------------------------------------
def fold_results(task: str, out: dict[str, Any]) -> dict[str, Any]:
    """The results entry for ``task`` from ``simple_evaluate``'s output (with ``log_samples``)."""
    numbers = {name: _numbers(values) for name, values in out.get("results", {}).items()}
    subtasks = {name: values for name, values in numbers.items() if name != task and values}
    own = [_numbers(found.get(task) or {}) for found in (out.get("groups") or {}, out.get("results") or {})]
    metrics = next((m for m in own if m), None)
    if metrics is None:  # a tag, or a group without an aggregate: every task's, prefixed
        metrics = {f"{name}/{key}": value for name, values in subtasks.items() for key, value in values.items()}
    items: list[dict[str, Any]] = []
    for name, samples in sorted((out.get("samples") or {}).items()):
        filters = {s.get("filter", "none") for s in samples}
        for sample in sorted(samples, key=lambda s: (s.get("doc_id", 0), s.get("filter", ""))):
            items.append(_record(name, sample, several_filters=len(filters) > 1))
    n_samples = out.get("n-samples", {})
    total = sum(v.get("effective", 0) for v in n_samples.values()) if n_samples else len(items)
    return {
        "metrics": metrics,
        "subtasks": subtasks,
        "counts": {"items": total, "scored": len(items), "failed": 0, "reused_from_cache": 0},
        "failures": [],
        "items": items,
        "lm_eval": {
            "version": out.get("lm_eval_version"),
            "task_versions": out.get("versions", {}),
            "n_shot": out.get("n-shot", {}),
            "n_samples": n_samples,
            "higher_is_better": out.get("higher_is_better", {}),
        },
    }


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    """lm-eval's metric entries (``"acc,none"``: 0.5), without the alias, the name and ``"N/A"`` stderrs."""
    found = {}
    for key, value in values.items():
        if key in ("alias", "name", "sample_len", "sample_count") or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) and not math.isnan(value):
            found[key] = float(value)
    return found


def sample_arguments(sample: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The request arguments of a logged sample: a list of tuples, as lm-eval logs them in any 0.4.x."""
    args = sample.get("arguments")
    if isinstance(args, dict):  # {"gen_args_0": {"arg_0": ..., "arg_1": ...}, ...}
        return [tuple(a.values()) for a in args.values()]
    return [tuple(a) if isinstance(a, (list, tuple)) else (a,) for a in args or []]


def _record(task: str, sample: dict[str, Any], *, several_filters: bool) -> dict[str, Any]:
    doc_id = sample.get("doc_id")
    flt = sample.get("filter", "none")
    record: dict[str, Any] = {"id": f"{task}/{doc_id}" + (f"/{flt}" if several_filters else ""), "task": task}
    if several_filters:
        record["filter"] = flt
    responses = sample.get("filtered_resps") or []
    args = sample_arguments(sample)
    target = sample.get("target")
    loglikelihoods = [r[0] if isinstance(r, (list, tuple)) else r for r in responses]
    if len(responses) > 1 and all(isinstance(x, (int, float)) for x in loglikelihoods):  # multiple choice
        choices = [str(a[1]).strip() if len(a) > 1 else str(i) for i, a in enumerate(args)]
        best = max(range(len(loglikelihoods)), key=lambda i: loglikelihoods[i])
        record["prediction"] = choices[best] if best < len(choices) else str(best)
        record["gold"] = choices[target] if isinstance(target, int) and 0 <= target < len(choices) else _text(target)
        record["logprobs"] = [round(float(x), 6) for x in loglikelihoods]
    else:
        response = responses[0] if responses else None
        if isinstance(response, (list, tuple)) and response and isinstance(response[0], (int, float)):
            response = response[0]  # (loglikelihood, is_greedy)
        record["prediction"] = response if isinstance(response, (int, float)) else _text(response)
        record["gold"] = _text(target)
    metrics = {m: sample[m] for m in sample.get("metrics", []) if isinstance(sample.get(m), (int, float))}
    if metrics:
        record["score"] = float(next(iter(metrics.values())))
        record["metrics"] = {k: float(v) for k, v in metrics.items()}
    for key in ("doc_hash", "prompt_hash"):
        if key in sample:
            record[key] = sample[key]
    return record


def _text(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_text(v) for v in value]
    return str(value)


# -- task lookup --------------------------------------------------------------------------------
def _include_path(data: str | None, name: str) -> Path | None:
    if not data:
        return None
    path = Path(data).expanduser()
    if not path.exists():
        raise ConfigError(f"{name}: --data {data}: no such file or folder", hint="a folder of lm-eval task YAML files")
    if path.is_file():
        if path.suffix not in (".yaml", ".yml"):
            return None  # a shared --data for other tasks (a text file): nothing for lm-eval
        return path.parent
    return path


def _task_manager(task: str, include: Path | None) -> Any:
    """lm-eval's ``TaskManager``; with an include path, its tasks alone first (indexing lm-eval's own
    thousands of tasks takes ~10 CPU-seconds), lm-eval's too when the task is not there and lm-eval's task
    files mention its name (a typo is told without indexing them: the caller finds it missing)."""
    from lm_eval.tasks import TaskManager

    if include is not None:
        manager = TaskManager(include_path=str(include), include_defaults=False)
        if task in manager.all_tasks:
            return manager
    if not lm_eval_may_ship(task):
        return TaskManager(include_path=str(include) if include else None, include_defaults=False)
    return TaskManager(include_path=str(include) if include else None)


def _hash_tree(root: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".py", ".jinja"))
    for path in files[:2000]:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _cached_answers(cache: Path | None) -> int:
    """How many model answers lm-eval's cache for this run already holds (0 without one)."""
    if cache is None:
        return 0
    db = Path(f"{cache}_rank0.db")
    if not db.is_file():
        return 0
    from sqlitedict import SqliteDict

    with SqliteDict(str(db), flag="r") as answers:
        return len(answers)


def _dist_version() -> str | None:
    import importlib.metadata as md

    try:
        return md.version("lm-eval")
    except md.PackageNotFoundError:
        return None


# -- local MMLU data as lm-eval tasks (the parity test and bench/mmlu_vs_lm_eval.py) ---------------
_MMLU_DOC_TO_TEXT = (
    "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:"
)


def mmlu_task_yamls(data: Path, subjects: list[str], folder: Path, *, prefix: str = "ru_llm_mmlu_") -> list[str]:
    """Write one lm-eval task YAML per subject into ``folder`` for MMLU CSVs with a
    ``question,choice0,choice1,choice2,choice3,answer`` header (``data/{dev,test}/{subject}_{split}.csv``):
    lm-eval's own ``mmlu`` template (first-n dev shots, its description, its ``doc_to_text`` with
    ``choices[i]`` read from the ``choice<i>`` columns; every cell read as text, as in ``cais/mmlu``).
    Returns the task names (``prefix + subject``)."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    doc_to_text = _MMLU_DOC_TO_TEXT
    for i in range(4):
        doc_to_text = doc_to_text.replace(f"choices[{i}]", f"choice{i}")
    names = []
    for subject in subjects:
        name = prefix + subject
        config = {
            "task": name,
            "dataset_path": "csv",
            "dataset_kwargs": {
                "data_files": {
                    "test": str(Path(data, "test", f"{subject}_test.csv").resolve()),
                    "dev": str(Path(data, "dev", f"{subject}_dev.csv").resolve()),
                },
                # pandas would read a choice "None" or "NA" as a missing value (and lm-eval print "nan");
                # cais/mmlu, which lm-eval's own mmlu reads, keeps it as text
                "keep_default_na": False,
            },
            "test_split": "test",
            "fewshot_split": "dev",
            "fewshot_config": {"sampler": "first_n"},
            "output_type": "multiple_choice",
            "description": f"The following are multiple choice questions (with answers) about "
            f"{subject.replace('_', ' ')}.\n\n",
            "doc_to_text": doc_to_text,
            "doc_to_choice": ["A", "B", "C", "D"],
            "doc_to_target": "answer",
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
            "metadata": {"version": 1.0},
        }
        (folder / f"{name}.yaml").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")  # JSON is YAML
        names.append(name)
    return names
