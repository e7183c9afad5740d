"""Packing: several samples per sequence of the context length, each seeing only itself.

Samples are placed by best-fit decreasing (the fullest sequence that still has room), which fills
sequences to ~98% on instruction data. Within a pack, position ids restart at 0 for every sample;
transformers turns restarted position ids (with no attention mask) into a block-diagonal causal mask,
and flash-attention into varlen sequences, so no token attends across samples. The first label of
every sample is ignored, so no sample is trained to predict its first token from its neighbour.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from ru_llm.train.data.encode import IGNORE_INDEX, Sample


@dataclass
class Pack:
    """Concatenated samples with their restarting position ids."""

    input_ids: np.ndarray
    labels: np.ndarray
    position_ids: np.ndarray
    sample_ids: list[str]

    def __len__(self) -> int:
        return len(self.input_ids)


def pack_samples(samples: list[Sample], max_length: int) -> list[Pack]:
    """Best-fit-decreasing packs of at most ``max_length`` tokens; every sample lands in exactly one."""
    order = sorted(range(len(samples)), key=lambda i: (-len(samples[i]), i))
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (room left, bin index), sorted
    for i in order:
        size = len(samples[i])
        if size > max_length:
            raise ValueError(f"sample {samples[i].id!r} has {size} tokens, more than max_length {max_length}")
        at = bisect.bisect_left(free, (size, -1))
        if at < len(free):
            room, b = free.pop(at)
            bins[b].append(i)
            room -= size
        else:
            b = len(bins)
            bins.append([i])
            room = max_length - size
        if room > 0:
            bisect.insort(free, (room, b))
    return [_concat([samples[i] for i in members]) for members in bins]


def _concat(members: list[Sample]) -> Pack:
    labels = []
    for s in members:
        own = s.labels.copy()
        own[0] = IGNORE_INDEX
        labels.append(own)
    return Pack(
        np.concatenate([s.input_ids for s in members]),
        np.concatenate(labels),
        np.concatenate([np.arange(len(s), dtype=np.int32) for s in members]),
        [s.id for s in members],
    )
