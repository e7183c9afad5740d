"""Error bars for metrics that are means over items, computed as lm-evaluation-harness computes them."""

from __future__ import annotations

import math
from collections.abc import Sequence


def mean_stderr(values: Sequence[float]) -> float:
    """The standard error of the mean: sample standard deviation (n - 1) over sqrt(n).

    lm-eval's ``mean_stderr`` for ``acc``; ``nan`` below two items, where no spread can be estimated.
    """
    n = len(values)
    if n < 2:
        return math.nan
    mean = math.fsum(values) / n
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return math.sqrt(variance / n)


def pooled_stderr(groups: Sequence[Sequence[float]]) -> float:
    """The standard error of a size-weighted mean over groups (MMLU's accuracy over its subjects), as
    lm-eval reports it for a group with ``weight_by_size`` (its ``pooled_sample_stderr``).

    That is the pooled within-group sample variance, ``sum_i SS_i / (N - k)``, over ``N``; lm-eval gets
    each group's sum of squares ``SS_i`` back from the group's stderr and size, this takes it from the
    values, which is the same number and also holds for a group of one item (``SS_i = 0``, where
    ``mean_stderr`` is undefined). ``nan`` when no spread can be estimated (``N - k < 1``).
    """
    filled = [g for g in groups if len(g)]
    total = sum(len(g) for g in filled)
    if total - len(filled) < 1:
        return math.nan
    squares = 0.0
    for values in filled:
        mean = math.fsum(values) / len(values)
        squares += math.fsum((v - mean) ** 2 for v in values)
    return math.sqrt(squares / (total - len(filled)) / total)


def unweighted_mean_stderr(stderrs: Sequence[float]) -> float:
    """The standard error of a plain mean of ``k`` independent means (MMLU's macro accuracy over its four
    categories): ``sqrt(sum se_i^2) / k``, lm-eval's rule for a group without ``weight_by_size``."""
    if not stderrs:
        return math.nan
    return math.sqrt(math.fsum(se**2 for se in stderrs)) / len(stderrs)


def add_mean(metrics: dict[str, float], name: str, value: float, stderr: float) -> None:
    """Put ``name`` and, when it could be estimated (not ``nan``), ``{name}_stderr`` into ``metrics``.

    A results file is JSON, which has no NaN: a mean over fewer than two items has no ``_stderr`` key.
    """
    metrics[name] = value
    if not math.isnan(stderr):
        metrics[f"{name}_stderr"] = stderr
