"""Scoring prompts that begin alike: their shared prefix runs through the model once.

In k-shot evaluation every question of a subject repeats the same header and k solved examples (5-shot
MMLU: most of each prompt's tokens). A request names that shared text (``ChoiceRequest.prefix``); the
model runs its tokens once, keeps the key/value cache and scores each prompt's remainder against a
copy of it, a batch at a time. The tokens scored never change: a prompt uses the cache only where its
own token ids (tokenized whole, as lm-eval does) begin with the cached ids; where a token spans the end
of the prefix (a merge at the boundary) the prompt is scored whole, and counted.

The cache holds the prefix less its last token, so every prompt that uses it has at least one token of
its own to run (the one whose next-token distribution scores a letter may be the prefix's last). The
remainders are right-padded; the attention mask covers the cached prefix and each row's real tokens,
and position ids continue from the prefix, so a row sees exactly what it would see scored whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# why a prompt that names a prefix was scored whole
BOUNDARY = "boundary"  # its tokens do not begin with the prefix's (a token spans the prefix's end)
UNSHARED = "unshared"  # no other prompt of the call shares its prefix (e.g. a long question's shots dropped)
NO_CACHE = "no_cache"  # the model gave no key/value cache that can be copied for a batch


@dataclass
class ScoreRow:
    """One sequence to run and the next-token log-probabilities to read from it.

    ``reads``: ``(position, token)`` pairs, the log-probability of ``token`` after ``ids[: position + 1]``;
    ``prefix``: the token ids of the text other rows share, ``None`` when the request names none;
    ``request``: the index of the request the row belongs to (fallbacks are counted per request)."""

    ids: list[int]
    reads: list[tuple[int, int]]
    request: int
    prefix: tuple[int, ...] | None = None


@dataclass
class PrefixStats:
    """What the prefix cache did, counted per request: of the ``requests`` scored, ``cached`` ones were
    scored against one of ``prefixes`` cached prefixes; ``fallbacks`` (by reason) named a prefix and
    were scored whole."""

    used: bool
    requests: int = 0
    prefixes: int = 0
    cached: int = 0
    fallbacks: Counter[str] = field(default_factory=Counter)

    def add(self, other: PrefixStats) -> None:
        self.requests += other.requests
        self.prefixes += other.prefixes
        self.cached += other.cached
        self.fallbacks.update(other.fallbacks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "used": self.used,
            "requests": self.requests,
            "prefixes": self.prefixes,
            "cached_requests": self.cached,
            "fallbacks": sum(self.fallbacks.values()),
            "fallback_reasons": dict(sorted(self.fallbacks.items())),
        }


def plan(rows: Sequence[ScoreRow], *, enabled: bool) -> tuple[dict[tuple[int, ...], list[int]], list[int], PrefixStats]:
    """Which rows run against which cached ids, and which run whole.

    Returns ``(groups, whole, stats)``: ``groups`` maps the cached ids (a prefix less its last token) to
    the indices of the rows that use them; ``whole`` lists the rest. A row uses its prefix only when its
    ids begin with the prefix's and another request's row uses the same prefix; a request falls back
    (and is counted once) when any of its rows does.
    """
    stats = PrefixStats(used=enabled, requests=len({row.request for row in rows}))
    whole: list[int] = []
    candidates: dict[tuple[int, ...], list[int]] = {}
    reasons: dict[int, str] = {}
    for i, row in enumerate(rows):
        prefix = row.prefix if enabled else None
        if not prefix or len(prefix) < 2:  # nothing worth caching
            whole.append(i)
        elif tuple(row.ids[: len(prefix)]) != prefix:
            reasons.setdefault(row.request, BOUNDARY)
            whole.append(i)
        else:
            candidates.setdefault(prefix[:-1], []).append(i)
    groups: dict[tuple[int, ...], list[int]] = {}
    for cached, members in candidates.items():
        if len({rows[i].request for i in members}) < 2:
            for i in members:
                reasons.setdefault(rows[i].request, UNSHARED)
            whole.extend(members)
        else:
            groups[cached] = members
    # a request with one row scored whole is scored whole: its other rows stay cached (same numbers) but count it
    stats.fallbacks.update(reasons.values())
    stats.cached = len({rows[i].request for members in groups.values() for i in members} - set(reasons))
    stats.prefixes = len(groups)
    return groups, sorted(whole), stats


def score_rows(
    lm: Any,
    rows: Sequence[ScoreRow],
    *,
    enabled: bool,
    on_row: Callable[[int], None] = lambda i: None,
) -> tuple[list[list[float]], PrefixStats]:
    """The log-probabilities each row reads (in ``reads`` order), and what the prefix cache did.

    ``lm``: the :class:`~ru_llm.eval.models.hf.HFEvalModel` (its model, device, padding id, batching and
    plain forward pass); ``on_row(i)`` is called as row ``i`` is scored.
    """
    import torch

    out: list[list[float]] = [[] for _ in rows]
    groups, whole, stats = plan(rows, enabled=enabled)

    def read(i: int, logits: Any, column: dict[int, int], shift: int) -> None:
        row = rows[i]
        logp: dict[int, Any] = {}
        values = []
        for position, token in row.reads:
            col = column[position - shift]
            if col not in logp:
                logp[col] = torch.log_softmax(logits[col].float(), dim=-1)
            values.append(float(logp[col][token]))
        out[i] = values
        on_row(i)

    fallen = {rows[i].request for i in whole if enabled and rows[i].prefix and len(rows[i].prefix or ()) > 1}
    for cached, members in groups.items():
        state = run_prefix(lm, list(cached))
        if state is None:  # the model keeps no cache we can copy: every member runs whole
            lost = {rows[i].request for i in members} - fallen
            fallen |= lost
            stats.cached -= len(lost)
            stats.prefixes -= 1
            stats.fallbacks[NO_CACHE] += len(lost)
            whole.extend(members)
            continue
        start = len(cached)
        members = sorted(members, key=lambda i: -len(rows[i].ids))
        for batch in lm._batches([rows[i].ids for i in members]):
            chosen = [members[b] for b in batch]
            keep = sorted({p - start for i in chosen for p, _ in rows[i].reads})
            with torch.no_grad():
                logits, column = forward_after(lm, state, [rows[i].ids[start:] for i in chosen], keep)
            for r, i in enumerate(chosen):
                read(i, logits[r], column, start)
    whole.sort(key=lambda i: -len(rows[i].ids))
    for batch in lm._batches([rows[i].ids for i in whole]):
        chosen = [whole[b] for b in batch]
        keep = sorted({p for i in chosen for p, _ in rows[i].reads})
        with torch.no_grad():
            logits, column = lm._forward([rows[i].ids for i in chosen], keep=keep)
        for r, i in enumerate(chosen):
            read(i, logits[r], column, 0)
    return out, stats


def run_prefix(lm: Any, ids: list[int]) -> Any:
    """The key/value cache of ``ids`` (one sequence), or ``None`` when the model returns none that can be
    copied for a batch (then the rows that wanted it run whole)."""
    import torch

    tensor = torch.tensor([ids], device=lm.device)
    extra = {"logits_to_keep": 1} if lm._keeps_logits else {}
    with torch.no_grad():
        try:
            output = lm.model(input_ids=tensor, use_cache=True, **extra)
        except TypeError:
            output = lm.model(input_ids=tensor, use_cache=True)
    cache = getattr(output, "past_key_values", None)
    if cache is None or not hasattr(cache, "batch_repeat_interleave") or cache.get_seq_length() != len(ids):
        return None
    return cache


def forward_after(
    lm: Any, prefix_cache: Any, sequences: list[list[int]], keep: list[int]
) -> tuple[Any, dict[int, int]]:
    """Logits of right-padded ``sequences`` that continue the cached prefix, and where (relative to the
    sequence's own start) position ``p`` is along their second axis (``keep``: the positions needed)."""
    import copy

    import torch

    cached = prefix_cache.get_seq_length()
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), lm.pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), cached + width), dtype=torch.long)
    mask[:, :cached] = 1
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, cached : cached + len(seq)] = 1
    positions = torch.arange(cached, cached + width).unsqueeze(0).expand(len(sequences), -1)
    past = copy.deepcopy(prefix_cache)
    past.batch_repeat_interleave(len(sequences))
    inputs = {
        "input_ids": ids.to(lm.device),
        "attention_mask": mask.to(lm.device),
        "position_ids": positions.to(lm.device),
        "past_key_values": past,
        "use_cache": True,
    }
    if lm._keeps_logits:
        try:
            logits = lm.model(**inputs, logits_to_keep=torch.tensor(keep, device=lm.device)).logits
            return logits, {p: k for k, p in enumerate(keep)}
        except TypeError:
            lm._keeps_logits = False
            past = copy.deepcopy(prefix_cache)  # the failed call may have grown the copy
            past.batch_repeat_interleave(len(sequences))
            inputs["past_key_values"] = past
    return lm.model(**inputs).logits, {p: p for p in range(width)}
