"""Error bars: ``ru_llm.eval.stats`` against lm-evaluation-harness's own functions, and the tasks that use them."""

from __future__ import annotations

import math
import random

import pytest

from ru_llm.eval.stats import add_mean, mean_stderr, pooled_stderr, unweighted_mean_stderr


def _groups(seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    sizes = [rng.randint(2, 60) for _ in range(rng.randint(1, 8))]
    binary = seed % 2 == 0  # accuracies (0/1) and continuous scores (a similarity)
    return [[float(rng.random() < 0.4) if binary else rng.random() for _ in range(n)] for n in sizes]


@pytest.mark.parametrize("seed", range(12))
def test_the_formulas_are_lm_evals(seed: int) -> None:
    metrics = pytest.importorskip("lm_eval.api.metrics")
    groups = _groups(seed)
    for values in groups:
        assert mean_stderr(values) == pytest.approx(metrics.mean_stderr(values), rel=1e-12)
    stderrs = [metrics.mean_stderr(g) for g in groups]
    expected = float(metrics.pooled_sample_stderr(stderrs, [len(g) for g in groups]))
    assert pooled_stderr(groups) == pytest.approx(expected, rel=1e-9)
    assert unweighted_mean_stderr(stderrs) == pytest.approx(float(metrics.unweighted_mean_stderr(stderrs)), rel=1e-12)


def test_pooled_stderr_is_the_sample_stderr_of_one_group_and_takes_groups_of_one() -> None:
    values = [1.0, 0.0, 0.0, 1.0, 1.0]
    assert pooled_stderr([values]) == pytest.approx(mean_stderr(values))
    # a group of one item has no spread of its own (lm-eval's formula would divide by zero for it)
    assert pooled_stderr([values, [1.0]]) == pytest.approx(math.sqrt(1.2 / (6 - 2) / 6))
    assert math.isnan(pooled_stderr([[1.0], [0.0]]))  # nothing to estimate a spread from
    assert math.isnan(mean_stderr([0.5])) and math.isnan(unweighted_mean_stderr([]))


def test_a_stderr_that_cannot_be_estimated_is_left_out_not_written_as_nan() -> None:
    metrics: dict[str, float] = {}
    add_mean(metrics, "accuracy", 1.0, mean_stderr([1.0]))
    add_mean(metrics, "similarity", 0.5, mean_stderr([0.0, 1.0]))
    assert metrics == {"accuracy": 1.0, "similarity": 0.5, "similarity_stderr": 0.5}


def test_copy_reports_a_stderr_beside_each_mean_over_texts() -> None:
    from ru_llm.eval.tasks.copy import Copy

    records = [
        {"length_ratio": r, "score": s, "similarity": m, "exact": e, "hit_token_limit": h}
        for r, s, m, e, h in [
            (1.0, 1.0, 1.0, True, False),
            (0.5, 0.0, 0.6, False, True),
            (0.9, 1.0, 0.995, False, False),
        ]
    ]
    metrics = Copy().aggregate(records)
    assert metrics["length_ratio_stderr"] == pytest.approx(mean_stderr([1.0, 0.5, 0.9]))
    assert metrics["copy_rate_stderr"] == pytest.approx(mean_stderr([1.0, 0.0, 1.0]))
    assert metrics["similarity_stderr"] == pytest.approx(mean_stderr([1.0, 0.6, 0.995]))
    assert metrics["exact_match_stderr"] == pytest.approx(mean_stderr([1.0, 0.0, 0.0]))
    assert metrics["hit_token_limit"] == 1.0 and "hit_token_limit_stderr" not in metrics  # a count
