"""Hooks defined by ru-llm-eval."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookspec


@hookspec
def register_eval_tasks(register: Callable[..., object]) -> None:
    """Register evaluation tasks (MMLU, MMLU-RU, perplexity, MT-Bench, ...).

    :param register: call ``register(task, *, aliases=(), override=False)`` once per task. ``task``
        must satisfy :class:`ru_llm.eval.task.EvalTask` (per item: ``name``, ``description``, ``load``,
        ``request``, ``score``, ``aggregate``) or :class:`ru_llm.eval.task.WholeRunTask` (``name``,
        ``description``, ``load``, ``run``); anything else is refused. ``override=True`` replaces a
        task of the same name. Returns nothing; every implementation is called.
    """


@hookspec
def register_eval_models(register: Callable[..., object]) -> None:
    """Register model kinds that ``ru-llm eval run --model-kind NAME`` evaluates (hf, openai-chat, ...).

    :param register: call ``register(kind, *, aliases=(), override=False)`` once per kind. ``kind`` must
        satisfy :class:`ru_llm.eval.model.EvalModelKind` (``name``, ``description``, ``check``, ``load``);
        the models it loads satisfy :class:`ru_llm.eval.model.EvalModel` and the capabilities they answer.
        Returns nothing; every implementation is called.
    """


@hookspec(warn_on_impl=DeprecationWarning("register_metrics is deprecated: rename the hook register_eval_tasks"))
def register_metrics(register: Callable[..., object]) -> None:
    """Deprecated name of :func:`register_eval_tasks`; its tasks are registered after ``register_eval_tasks``'s.

    :param register: as for :func:`register_eval_tasks`. Implementing this hook warns (``DeprecationWarning``)
        when the plugin is registered; it keeps working.
    """
