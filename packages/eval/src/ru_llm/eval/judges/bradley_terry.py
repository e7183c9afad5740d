"""Arena-style scores from pairwise battles: a Bradley-Terry fit, a bootstrap, and win rates against a baseline.

The method is Arena-Hard-Auto v0.1's (``show_result.py``), written anew:

* A judged game becomes battles between the baseline and the model: ``A>B`` one win, ``A>>B`` ``weight`` wins
  (3), ``A=B`` one tie; a game whose verdict could not be read becomes none (and is a failure elsewhere).
* Ratings maximise the Bradley-Terry likelihood ``P(i beats j) = 1 / (1 + 10 ** ((R_j - R_i) / 400))`` over all
  battles, a tie counting half a win each way: the logistic regression without intercept that Arena-Hard fits
  with scikit-learn, here by Newton's method on the aggregated win counts. The baseline is anchored at 1000.
* The score is the win rate the ratings predict against the baseline (the baseline's own is 0.5); its 95%
  interval comes from ``rounds`` bootstrap refits (the 2.5th and 97.5th percentiles of each model's rating),
  resampling battles as Arena-Hard does, or whole questions (``unit="question"``: every battle of a question
  together, which keeps a question's two games and a strong verdict's three battles in one draw).

When each model meets only the baseline (the usual case), a model's fitted win rate equals its share of won
battles, ties counted half: ``(wins + ties / 2) / battles``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SCALE, BASE, INIT_RATING = 400.0, 10.0, 1000.0  # Arena-Hard's Elo-like scale
WEIGHT = 3  # battles a strong verdict (A>>B, B>>A) counts as
_LN_BASE = math.log(BASE)
_MAX_THETA = 40.0  # a model that won (or lost) every battle has no finite rating: stop at odds of e^40


@dataclass(frozen=True)
class Battle:
    """One battle: ``winner`` is ``"a"``, ``"b"`` or ``"tie"``; ``question`` groups battles for the bootstrap."""

    a: str
    b: str
    winner: str
    question: Any = None


def game_battles(baseline: str, model: str, verdict: str, baseline_is_a: bool, question: Any = None,
                 weight: int = WEIGHT) -> list[Battle]:  # fmt: skip
    """The battles one judged game makes (Arena-Hard's ``get_battles_from_judgment``); always ``a=baseline``."""
    first, strong = verdict[0], ">>" in verdict
    if verdict == "A=B":
        return [Battle(baseline, model, "tie", question)]
    baseline_won = (first == "A") == baseline_is_a
    return [Battle(baseline, model, "a" if baseline_won else "b", question)] * (weight if strong else 1)


def _win_matrix(index: dict[str, int], battles: Sequence[Battle], counts: Any = None) -> Any:
    """``W[i, j]``: how often i beat j, ties half each way; ``counts`` weights each battle (a bootstrap draw)."""
    import numpy as np

    k = len(index)
    a = np.fromiter((index[x.a] for x in battles), dtype=np.int64, count=len(battles))
    b = np.fromiter((index[x.b] for x in battles), dtype=np.int64, count=len(battles))
    a_share = np.fromiter(({"a": 1.0, "b": 0.0, "tie": 0.5}[x.winner] for x in battles), dtype=float,
                          count=len(battles))  # fmt: skip
    weight = np.ones(len(battles)) if counts is None else np.asarray(counts, dtype=float)
    wins = np.zeros((k, k))
    np.add.at(wins, (a, b), weight * a_share)
    np.add.at(wins, (b, a), weight * (1.0 - a_share))
    return wins


def fit_ratings(wins: Any, anchor: int, iterations: int = 100) -> Any:
    """Bradley-Terry strengths ``theta`` (natural log-odds units, ``theta[anchor] = 0``) maximising
    ``sum W[i, j] log sigmoid(theta_i - theta_j)``, by Newton's method with step halving."""
    import numpy as np

    k = wins.shape[0]
    games = wins + wins.T
    free = np.array([i for i in range(k) if i != anchor and games[i].sum() > 0], dtype=np.int64)
    theta = np.zeros(k)
    if free.size == 0:
        return theta

    def loglik(t: Any) -> float:
        diff = t[:, None] - t[None, :]
        return float(-(wins * np.logaddexp(0.0, -diff)).sum())

    current = loglik(theta)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))
        grad = (wins - games * p).sum(axis=1)
        curvature = games * p * (1.0 - p)
        hessian = curvature - np.diag(curvature.sum(axis=1))
        g, h = grad[free], hessian[np.ix_(free, free)]
        if np.abs(g).max() < 1e-10:
            break
        try:
            step = np.linalg.solve(h, -g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(h, -g, rcond=None)[0]
        scale = 1.0
        while scale > 1e-6:
            trial = theta.copy()
            trial[free] = np.clip(theta[free] + scale * step, -_MAX_THETA, _MAX_THETA)
            value = loglik(trial)
            if value >= current - 1e-12:
                break
            scale /= 2
        if np.abs(trial - theta).max() < 1e-12:
            break
        theta, current = trial, value
    return theta


def to_rating(theta: Any) -> Any:
    """Arena-Hard's scale: 400 per factor of 10 in the odds, the anchor at 1000."""
    return SCALE * theta / _LN_BASE + INIT_RATING


def win_rate(rating: float, against: float = INIT_RATING) -> float:
    """The probability the ratings give a model of ``rating`` to beat one of ``against``."""
    return 1.0 / (1.0 + BASE ** ((against - rating) / SCALE))


def ratings(battles: Sequence[Battle], baseline: str) -> dict[str, float]:
    """Each model's rating (the baseline's is 1000)."""
    models = _models(battles, baseline)
    index = {m: i for i, m in enumerate(models)}
    theta = fit_ratings(_win_matrix(index, battles), index[baseline])
    return {m: float(r) for m, r in zip(models, to_rating(theta), strict=True)}


def _models(battles: Sequence[Battle], baseline: str) -> list[str]:
    return list(dict.fromkeys([baseline, *(x.a for x in battles), *(x.b for x in battles)]))


def bootstrap_ratings(battles: Sequence[Battle], baseline: str, *, rounds: int = 100, seed: int = 42,
                      unit: str = "battle") -> dict[str, list[float]]:  # fmt: skip
    """Each model's rating in ``rounds`` refits on battles (or questions) drawn with replacement."""
    import numpy as np

    if unit not in ("battle", "question"):
        raise ValueError(f"bootstrap unit {unit!r}: expected battle or question")
    models = _models(battles, baseline)
    index = {m: i for i, m in enumerate(models)}
    rng = np.random.default_rng(seed)
    n = len(battles)
    questions = {q: i for i, q in enumerate(dict.fromkeys(x.question for x in battles))}
    of_question = np.fromiter((questions[x.question] for x in battles), dtype=np.int64, count=n) if n else None
    out: dict[str, list[float]] = {m: [] for m in models}
    for _ in range(rounds):
        if unit == "battle" or of_question is None:
            counts = np.bincount(rng.integers(0, n, n), minlength=n) if n else np.zeros(0)
        else:
            drawn = np.bincount(rng.integers(0, len(questions), len(questions)), minlength=len(questions))
            counts = drawn[of_question]
        theta = fit_ratings(_win_matrix(index, battles, counts), index[baseline])
        for m, r in zip(models, to_rating(theta), strict=True):
            out[m].append(float(r))
    return out


def leaderboard(battles: Sequence[Battle], baseline: str, *, rounds: int = 100, seed: int = 42,
                unit: str = "battle") -> list[dict[str, Any]]:  # fmt: skip
    """One row per model, best first: ``win_rate`` against the baseline with its bootstrap 95% interval
    (``ci_low``, ``ci_high``), the ``rating`` with its interval, and the battles won, tied and lost."""
    import numpy as np

    point = ratings(battles, baseline)
    samples = bootstrap_ratings(battles, baseline, rounds=rounds, seed=seed, unit=unit) if rounds else {}
    rows = []
    for model, rating in point.items():
        low, high = np.percentile(samples[model], [2.5, 97.5]) if samples else (rating, rating)
        mine = [x for x in battles if model in (x.a, x.b)]
        won = sum(1 for x in mine if (x.winner == "a") == (x.a == model) and x.winner != "tie")
        tied = sum(1 for x in mine if x.winner == "tie")
        rows.append({
            "model": model,
            "win_rate": win_rate(rating),
            "ci_low": win_rate(float(low)),
            "ci_high": win_rate(float(high)),
            "rating": rating,
            "rating_low": float(low),
            "rating_high": float(high),
            "battles": len(mine),
            "wins": won,
            "ties": tied,
            "losses": len(mine) - won - tied,
        })  # fmt: skip
    rows.sort(key=lambda r: (-r["win_rate"], r["model"]))
    return rows
