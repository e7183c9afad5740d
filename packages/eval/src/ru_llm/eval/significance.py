"""Whether two runs differ: paired tests over the per-item records both runs scored (matched by ``id``).

* Items scored 0 or 1 (accuracy): McNemar's exact test, the two-sided binomial test on the discordant pairs
  (items one run got right and the other wrong); the concordant ones carry no information about the difference.
* Any other per-item score (MT-Bench's 1-10 ratings, pairwise 1/0.5/0): the paired bootstrap (Koehn 2004;
  Berg-Kirkpatrick et al. 2012): the items are resampled with replacement, keeping each item's two scores
  together, and the p-value is twice the share of resampled mean differences on the far side of zero.

A difference is called significant when ``p < ALPHA`` (0.05).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.05
BOOTSTRAP_ROUNDS = 10_000


@dataclass(frozen=True)
class PairedTest:
    """The outcome of a paired test of ``b`` against ``a``: ``difference`` is mean(b) - mean(a) over the ``n``
    items both scored."""

    test: str  # "McNemar" or "paired bootstrap"
    n: int
    difference: float
    p: float

    @property
    def significant(self) -> bool:
        return self.p < ALPHA

    def as_dict(self) -> dict[str, object]:
        return {"test": self.test, "n": self.n, "difference": self.difference, "p": self.p,
                "significant": self.significant}  # fmt: skip


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` pairs (first right, second wrong) and ``c`` (the reverse)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1))  # exact integers: no underflow for large n
    return min(1.0, 2 * tail / 2**n)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0) -> float:
    """Two-sided p-value of mean(b) - mean(a) by the paired bootstrap (items resampled with their two scores)."""
    import numpy as np

    diff = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = len(diff)
    if n == 0 or not diff.any():
        return 1.0
    rng = np.random.default_rng(seed)
    at_or_below = at_or_above = 0
    chunk = max(1, min(rounds, 2_000_000 // n))  # bounded memory whatever the item count
    done = 0
    while done < rounds:
        size = min(chunk, rounds - done)
        means = diff[rng.integers(0, n, size=(size, n))].mean(axis=1)
        at_or_below += int((means <= 0).sum())
        at_or_above += int((means >= 0).sum())
        done += size
    return min(1.0, 2 * min(at_or_below, at_or_above) / rounds)


def paired_test(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """McNemar for 0/1 scores, else the paired bootstrap; ``a`` and ``b`` are the same items' scores."""
    if len(a) != len(b):
        raise ValueError("paired_test: a and b must hold the same items")
    n = len(a)
    difference = (math.fsum(b) - math.fsum(a)) / n if n else 0.0
    if all(v in (0, 1) for v in (*a, *b)):
        first_only = sum(1 for x, y in zip(a, b, strict=True) if x == 1 and y == 0)
        second_only = sum(1 for x, y in zip(a, b, strict=True) if x == 0 and y == 1)
        return PairedTest("McNemar", n, difference, mcnemar_exact(first_only, second_only))
    return PairedTest("paired bootstrap", n, difference, paired_bootstrap(a, b))
