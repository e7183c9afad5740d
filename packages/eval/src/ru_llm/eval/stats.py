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
