"""Lookups for the things this package's hooks register."""

from __future__ import annotations

import difflib

from ru_llm.core.errors import ConfigError, UnknownNameError
from ru_llm.core.plugins import registry
from ru_llm.core.registry import Registry
from ru_llm.eval.model import EvalModelKind
from ru_llm.eval.task import EvalTask, Task, WholeRunTask


def eval_tasks() -> Registry[EvalTask | WholeRunTask]:
    """Every registered evaluation task (each an :class:`EvalTask` or a :class:`WholeRunTask`), from
    ``register_eval_tasks`` and then its deprecated name ``register_metrics``."""
    return registry(
        "register_eval_tasks",
        "task",
        hint="run `ru-llm eval tasks` to list them; a plugin adds tasks (docs/plugins.md)",
        expect=Task,
        deprecated=("register_metrics",),
    )


metrics = eval_tasks  # the name before the hook was renamed


def eval_models() -> Registry[EvalModelKind]:
    """Every registered model kind (``hf``, ``openai-chat``, ``openai-completions``, a plugin's)."""
    return registry(
        "register_eval_models",
        "model kind",
        hint="--model-kind takes one of them; a plugin adds kinds (docs/plugins.md)",
        expect=EvalModelKind,
    )


def get_model_kind(name: str) -> EvalModelKind:
    """The model kind registered under ``name``; an unknown name lists the known ones."""
    return eval_models().get(name)


def get_task(name: str) -> EvalTask | WholeRunTask:
    """The task registered under ``name``; an unknown name lists the known ones, or, when it is an
    lm-evaluation-harness task (``hellaswag``), says to write ``lm_eval:hellaswag``."""
    try:
        return eval_tasks().get(name)
    except UnknownNameError as error:
        from ru_llm.eval.lm_eval_bridge import PREFIX, lm_eval_task_file, lm_eval_task_names

        if error.suggestion is not None and not lm_eval_task_file(name):
            raise  # a typo of one of ours ("mmlux"): answered without reading lm-eval's task files
        known = lm_eval_task_names()
        if known is not None and name in known:
            raise ConfigError(
                f"unknown task {name!r}: an lm-evaluation-harness task; run it as {PREFIX}{name}",
                hint="`ru-llm eval tasks` lists ru-llm's own tasks",
            ) from None
        if known is not None and error.suggestion is None:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
            if close:
                error.hint = f"lm-evaluation-harness has {close[0]!r}: {PREFIX}{close[0]}; {error.hint}"
        elif error.suggestion is None:  # lm-eval is not installed, so nothing says it does not know the name
            error.hint = (
                f"{error.hint}; an lm-evaluation-harness task is written {PREFIX}{name} "
                'and needs pip install "ru-llm-eval[lm-eval]"'
            )
        raise
