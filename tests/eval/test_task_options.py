"""``--task-option KEY=VALUE``: each key goes to the tasks whose options dataclass has it, checked there."""

from __future__ import annotations

import pytest

from ru_llm.core.errors import ConfigError
from ru_llm.eval.commands.run_cmd import split_task_options
from ru_llm.eval.task import TaskSettings, task_options
from ru_llm.eval.tasks.mmlu import MMLU
from ru_llm.eval.tasks.mt_bench import MT_BENCH, MT_BENCH_RU, MTBenchOptions


def test_each_key_goes_to_the_tasks_that_take_it_with_their_defaults() -> None:
    tasks = [("mmlu", MMLU), ("mt_bench", MT_BENCH), ("mt_bench_ru", MT_BENCH_RU)]
    options = split_task_options(tasks, {"judge_model": "judge", "concurrency": 2, "timeout": 30})
    assert set(options) == {"mt_bench", "mt_bench_ru"}  # mmlu takes no options: it gets none
    assert options["mt_bench"] == {"judge_model": "judge", "judge_api_key_env": "OPENAI_API_KEY", "concurrency": 2,
                                   "timeout": 30.0, "retry_backoff": 1.0, "preset": "greedy"}  # fmt: skip
    settings = TaskSettings(options=options["mt_bench"])
    assert task_options(MT_BENCH, settings) == MTBenchOptions(judge_model="judge", concurrency=2, timeout=30.0)


def test_a_key_no_task_takes_names_the_allowed_keys() -> None:
    with pytest.raises(ConfigError, match="--task-option judge: no task in this run takes 'judge'") as caught:
        split_task_options([("mt_bench", MT_BENCH)], {"judge": "x"})
    assert caught.value.hint is not None and caught.value.hint.startswith("allowed: mt_bench: judge_model, ")
    with pytest.raises(ConfigError, match="--task-option shots: no task in this run takes 'shots'") as caught:
        split_task_options([("mmlu", MMLU)], {"shots": 3})
    assert caught.value.hint == "none of mmlu takes options"


def test_values_are_checked_against_the_dataclass() -> None:
    with pytest.raises(ConfigError, match=r"--task-option \(mt_bench\): 'concurrency' must be an integer, got 'many'"):
        split_task_options([("mt_bench", MT_BENCH)], {"concurrency": "many"})
    with pytest.raises(ConfigError, match=r"--task-option \(mt_bench\): concurrency 0: expected 1 or more"):
        split_task_options([("mt_bench", MT_BENCH)], {"concurrency": 0})


def test_a_task_without_options_refuses_them_in_library_use() -> None:
    with pytest.raises(ConfigError, match="--task-option preset: mmlu takes no options"):
        task_options(MMLU, TaskSettings(options={"preset": "paper"}))
    assert task_options(MMLU, TaskSettings()) is None
