"""Deterministic sampling, splitting and shuffling by hashes, with memory bounded by a bucket.

Every decision is a function of (seed, id): the same recipe on the same data gives byte-identical
files, and adding a source never moves an existing conversation to the other split.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_MAX = float(2**64)


def id_hash(key: str, seed: int | str = "") -> int:
    """A 64-bit hash of ``key`` under ``seed`` (stable across runs and machines, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest(), "big")


def unit(key: str, seed: int | str = "") -> float:
    """``id_hash`` scaled to [0, 1)."""
    return id_hash(key, seed) / _MAX


def in_validation(key: int, share: float) -> bool:
    """Whether a conversation belongs to the validation split, from ``id_hash(id)`` (no seed: adding
    sources or changing the seed never moves a conversation between splits)."""
    return key < share * _MAX


_MASK = 2**64 - 1


def shuffle_key(key: int, seed: int) -> int:
    """A seeded permutation of ``id_hash(id)`` (the splitmix64 finaliser): one hash per record serves
    both the split and the shuffle."""
    z = (key ^ (seed * 0x9E3779B97F4A7C15)) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def copies(conversation_id: str, weight: float, seed: int) -> int:
    """How many times a conversation appears for a source ``weight`` (2 -> twice, 0.5 -> about half)."""
    whole = int(weight)
    if whole == weight:  # the common case (weight 1): no hash needed
        return whole
    return whole + (1 if unit(conversation_id, f"{seed}:weight") < weight - whole else 0)


class ShuffleBuffer:
    """Sort serialized lines by a 64-bit key using temporary bucket files (a seeded shuffle when the
    key is :func:`shuffle_key`).

    Lines are spread over buckets by the hash's top bits, then each bucket is sorted in memory:
    the result is the full sort by hash, while memory holds one bucket at a time.
    """

    def __init__(self, directory: Path, buckets: int = 64) -> None:
        self.shift = 64 - (buckets.bit_length() - 1)
        self.dir = Path(tempfile.mkdtemp(prefix=".shuffle-", dir=directory))
        # The bucket files stay open across add() calls, closed in __iter__ or discard().
        self._files = [open(self.dir / f"{i:03d}", "w", encoding="utf-8") for i in range(buckets)]  # noqa: SIM115
        self.count = 0

    def add(self, key: int, line: str) -> None:
        """Add a line under ``key``, a 64-bit hash (e.g. :func:`shuffle_key`)."""
        self._files[key >> self.shift].write(f"{key:016x}\t{line}")
        self.count += 1

    def __iter__(self) -> Iterator[str]:
        for f in self._files:
            f.close()
        for path in sorted(self.dir.iterdir()):
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            lines.sort()  # the fixed-width hex hash prefix sorts numerically
            for line in lines:
                yield line[17:]
            path.unlink()
        os.rmdir(self.dir)

    def discard(self) -> None:
        for f in self._files:
            f.close()
        shutil.rmtree(self.dir, ignore_errors=True)
