"""Batches for the trainer: padded samples, or packs whose position ids keep samples apart."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from ru_llm.train.data.encode import IGNORE_INDEX, Sample
from ru_llm.train.data.packing import Pack


class TokenCounter:
    """Tokens of the batches trained on (for tokens/s, ``tokens_seen`` and the model card).

    Collators report each batch's real (non-padding) tokens when they make it; the trainer counts them
    when it trains on the batch. The data loader makes a batch ahead of the step that uses it, and
    validation and DPO's reference pass make batches that are never trained on, so counting at
    collation would count those too (and a resumed run would count the batch in flight twice).
    """

    def __init__(self) -> None:
        self.tokens = 0
        self.pending: deque[int] = deque()

    def collated(self, tokens: int) -> None:
        self.pending.append(tokens)

    def trained(self) -> None:
        """The oldest collated batch is being trained on."""
        if self.pending:
            self.tokens += self.pending.popleft()


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple if multiple > 1 else n


class PaddedCollator:
    """Right-padded batches with an attention mask; labels are ``-100`` on padding."""

    def __init__(self, pad_id: int, *, multiple: int = 8, counter: TokenCounter | None = None) -> None:
        self.pad_id = pad_id
        self.multiple = multiple
        self.counter = counter

    def __call__(self, batch: Sequence[Sample]) -> dict[str, Any]:
        import torch

        width = _round_up(max(len(s) for s in batch), self.multiple)
        ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        labels = np.full((len(batch), width), IGNORE_INDEX, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, s in enumerate(batch):
            ids[row, : len(s)] = s.input_ids
            labels[row, : len(s)] = s.labels
            mask[row, : len(s)] = 1
        if self.counter is not None:
            self.counter.collated(int(mask.sum()))
        return {
            "input_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy(mask),
            "labels": torch.from_numpy(labels),
        }


class PackedCollator:
    """Packs padded to the longest in the batch; no attention mask, position ids restart per sample.

    The padding after a pack is its own block (positions from 0, labels ignored), so it neither sees
    nor is seen by real tokens.
    """

    def __init__(self, pad_id: int, *, counter: TokenCounter | None = None) -> None:
        self.pad_id = pad_id
        self.counter = counter

    def __call__(self, batch: Sequence[Pack]) -> dict[str, Any]:
        import torch

        width = max(len(p) for p in batch)
        ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        labels = np.full((len(batch), width), IGNORE_INDEX, dtype=np.int64)
        positions = np.zeros((len(batch), width), dtype=np.int64)
        for row, p in enumerate(batch):
            n = len(p)
            ids[row, :n] = p.input_ids
            labels[row, :n] = p.labels
            positions[row, :n] = p.position_ids
            positions[row, n:] = np.arange(width - n)
        if self.counter is not None:
            self.counter.collated(sum(len(p) for p in batch))
        return {
            "input_ids": torch.from_numpy(ids),
            "labels": torch.from_numpy(labels),
            "position_ids": torch.from_numpy(positions),
            # transformers only reads packed boundaries from position ids when no KV cache is built
            "use_cache": False,
        }
