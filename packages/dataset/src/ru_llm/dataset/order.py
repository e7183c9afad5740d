"""Deterministic sampling, splitting and shuffling by hashes, with memory bounded by a bucket.

Every decision is a function of (seed, id) or, for the split, of (:func:`split_key`): the same recipe
on the same data gives byte-identical files, and adding a source never moves an existing conversation
to the other split.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ru_llm.dataset.preference import PREFERENCE_KEY, prompt_key

if TYPE_CHECKING:
    from ru_llm.core.conversation import Conversation

_MAX = float(2**64)


def id_hash(key: str, seed: int | str = "") -> int:
    """A 64-bit hash of ``key`` under ``seed`` (stable across runs and machines, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest(), "big")


def unit(key: str, seed: int | str = "") -> float:
    """``id_hash`` scaled to [0, 1)."""
    return id_hash(key, seed) / _MAX


def split_key(conv: Conversation) -> str:
    """The group a conversation is split by: conversations with one key land in one split.

    Related conversations must not straddle train and validation, or validation measures recall of
    training data. The key is, in this order:

    * ``meta.message_tree_id`` (written by the ``oasst1`` builder, kept by translation): every thread
      of one OASST tree shares its root prompt, so all threads of a tree, English or translated, go
      together;
    * for a preference pair (a carrier, see :mod:`ru_llm.dataset.preference`), its prompt: pairs that
      share a prompt (UltraFeedback and TRL sets often hold several per prompt) share a split;
    * ``meta.translation.source_id`` (written by ``ru-llm translate``): a translation goes with its
      original, whose own id is that source id;
    * otherwise the conversation's own id.
    """
    meta = conv.meta
    tree = meta.get("message_tree_id")
    if isinstance(tree, str) and tree:
        return f"oasst-tree:{tree}"  # a namespace of its own, apart from conversation ids
    if PREFERENCE_KEY in meta:
        return f"prompt:{prompt_key(conv.messages)}"
    translation = meta.get("translation")
    if isinstance(translation, Mapping):
        source_id = translation.get("source_id")
        if isinstance(source_id, str) and source_id:
            return source_id
    return conv.id


def in_validation(key: int, share: float) -> bool:
    """Whether a conversation belongs to the validation split, from ``id_hash(split_key(conv))`` (no
    seed: adding sources or changing the seed never moves a conversation between splits)."""
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

    A line is one JSONL record ending in ``\\n``, and only ``\\n`` ends it: text in a record may hold
    U+2028, U+2029, U+0085 or other characters that ``str.splitlines`` would also split at, so the
    buckets are handled as bytes and split at ``b"\\n"`` alone.
    """

    def __init__(self, directory: Path, buckets: int = 64) -> None:
        self.shift = 64 - (buckets.bit_length() - 1)
        self.dir = Path(tempfile.mkdtemp(prefix=".shuffle-", dir=directory))
        # The bucket files stay open across add() calls, closed in __iter__ or discard().
        self._files = [open(self.dir / f"{i:03d}", "wb") for i in range(buckets)]  # noqa: SIM115
        self.count = 0

    def add(self, key: int, line: str) -> None:
        """Add a line (ending in ``\\n``, with no other ``\\n``) under ``key``, a 64-bit hash (e.g.
        :func:`shuffle_key`)."""
        self._files[key >> self.shift].write(f"{key:016x}\t{line}".encode())
        self.count += 1

    def __iter__(self) -> Iterator[str]:
        for f in self._files:
            f.close()
        for path in sorted(self.dir.iterdir()):
            lines = path.read_bytes().split(b"\n")
            lines.pop()  # the empty remainder after the last line's newline
            lines.sort()  # the fixed-width hex hash prefix sorts numerically (UTF-8 sorts as code points)
            for line in lines:
                yield line[17:].decode() + "\n"
            path.unlink()
        os.rmdir(self.dir)

    def discard(self) -> None:
        for f in self._files:
            f.close()
        shutil.rmtree(self.dir, ignore_errors=True)
