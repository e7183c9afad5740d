"""The evaluation-task contracts: what ``register_eval_tasks`` expects.

Two kinds of task:

* :class:`EvalTask`, per item. As in lm-evaluation-harness, it never touches the model: it loads its items,
  turns each into a request (a multiple-choice scoring, a generation, a rolling log-likelihood), scores the
  model's response and aggregates. The model answers requests in batches (:mod:`ru_llm.eval.model`), and
  the run caches each scored item, so an interrupted run resumes.
* :class:`WholeRunTask`: runs all its items itself with one ``run`` call and returns its whole results entry
  (the judged benchmarks, which talk to a judge; ``lm_eval:*``, which lm-evaluation-harness runs).

A task that takes options of its own (``ru-llm eval run TASK --task-option KEY=VALUE``) also has
``options_type``, a dataclass (:class:`TakesOptions`); the values arrive, checked, in ``settings.options``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ru_llm.core.errors import ConfigError


@dataclass(frozen=True)
class Item:
    """One thing to evaluate; ``id`` names it stably across runs (MMLU: ``"{subject}/{row}"``)."""

    id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ChoiceRequest:
    """Log-probabilities of each ``continuation`` after ``context`` (summed over its tokens).

    ``prefix``: the start of ``context`` that other requests repeat (a k-shot header and its solved
    examples); the model may run it once and score the rest against its key/value cache
    (``ru_llm.eval.models.prefix_cache``). Empty: nothing shared. The numbers do not depend on it."""

    context: str
    continuations: tuple[str, ...]
    prefix: str = ""


@dataclass(frozen=True)
class GenerateRequest:
    """Greedy generation of at most ``max_new_tokens`` after ``prompt``; ``stop`` strings end it early."""

    prompt: str
    max_new_tokens: int
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class RollingRequest:
    """The log-likelihood of a whole text (perplexity)."""

    text: str


@dataclass(frozen=True)
class TokenizeRequest:
    """How the model's tokenizer splits ``text`` (no forward pass): the counts of
    ``ru_llm.tokenize.stats.tokenizer_stats`` (tokens, characters, words, Cyrillic characters, tokens
    covering Cyrillic)."""

    text: str


Request = ChoiceRequest | GenerateRequest | RollingRequest | TokenizeRequest


class Generation(str):
    """The answer to a :class:`GenerateRequest`: the text (a ``str``, cut at the first stop string) with
    how it was made. ``seconds``: wall time of the generation, prompt processing included; ``tokens``:
    new tokens generated, including any after a stop string; ``None`` when the model does not say."""

    seconds: float | None
    tokens: int | None

    def __new__(cls, text: str, seconds: float | None = None, tokens: int | None = None) -> Generation:
        made = super().__new__(cls, text)
        made.seconds = seconds
        made.tokens = tokens
        return made


@dataclass
class TaskSettings:
    """What the user chose for a run; tasks read what concerns them."""

    data: str | None = None
    limit: int | None = None
    shots: int | None = None
    subjects: tuple[str, ...] = ()
    max_length: int | None = None  # None: the model's context (``HFEvalModel.max_length``)
    chat_template: bool = False
    max_new_tokens: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # this task's own (``TakesOptions``), as given


@dataclass
class TaskData:
    """A task's items and where they came from (for the results file)."""

    items: list[Item]
    source: str
    sha256: str | None = None
    failed: list[dict[str, Any]] = field(default_factory=list)  # rows that could not become items, with reasons


@runtime_checkable
class EvalTask(Protocol):
    """One benchmark or metric."""

    name: str
    description: str

    def load(self, settings: TaskSettings) -> TaskData:
        """The items to evaluate (a malformed row is a ``failed`` record, not a crash)."""
        ...

    def request(self, item: Item, settings: TaskSettings, fits: Callable[[str], bool]) -> Request:
        """The request for one item; ``fits(text)`` says whether a prompt fits the model's context."""
        ...

    def score(self, item: Item, request: Request, response: Any) -> dict[str, Any]:
        """A per-item record: at least ``prediction``, ``gold`` and ``score``."""
        ...

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, float]:
        """The task's metrics from its per-item records."""
        ...


@runtime_checkable
class WholeRunTask(Protocol):
    """A task that runs all its items itself (a judge in the loop, another harness)."""

    name: str
    description: str

    def load(self, settings: TaskSettings) -> TaskData:
        """Read and check its data (and anything else that can fail) before the model loads."""
        ...

    def run(
        self,
        model: Any,
        settings: TaskSettings,
        cache: Path,
        progress: Callable[[str, int], Callable[[int], None]] | None,
    ) -> dict[str, Any]:
        """The task's results entry: ``metrics``, ``counts``, ``failures``, ``items`` (the run adds ``data`` and
        ``time_s``). ``model`` is an :class:`~ru_llm.eval.model.EvalModel`; a task that needs a capability it
        lacks raises a :class:`~ru_llm.core.errors.ConfigError` saying which. ``cache``: a path prefix for
        the task's own cache files, unique to the model and settings. ``progress(description, total)`` gives
        a progress bar's ``advance(n)``."""
        ...


@runtime_checkable
class TakesOptions(Protocol):
    """A task with options of its own: ``options_type`` is a dataclass whose fields are the keys
    ``--task-option`` accepts (defaults for the ones not given; ``metadata={"help": ...}`` shown by
    ``ru-llm eval tasks``)."""

    options_type: type


class _EitherTask(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, (WholeRunTask, EvalTask))


class Task(metaclass=_EitherTask):
    """What ``register_eval_tasks`` accepts: an :class:`EvalTask` or a :class:`WholeRunTask` (``isinstance``)."""


def task_options(task: object, settings: TaskSettings, *, where: str = "--task-option") -> Any:
    """The task's options dataclass from ``settings.options`` (each key checked; defaults for the rest)."""
    from ru_llm.core.options import config_from_mapping

    if not isinstance(task, TakesOptions):
        if settings.options:
            raise ConfigError(f"{where} {next(iter(settings.options))}: {_name(task)} takes no options")
        return None
    return config_from_mapping(task.options_type, settings.options, where=f"{where} ({_name(task)})")


def _name(task: object) -> str:
    return str(task.name) if isinstance(task, (EvalTask, WholeRunTask)) else type(task).__name__
