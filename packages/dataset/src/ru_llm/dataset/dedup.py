"""Duplicate removal: exact (normalised text digest) and near (MinHash LSH over word shingles).

A preference pair (a carrier conversation, see :mod:`ru_llm.dataset.preference`) is compared on its
prompt and both replies: two pairs with one prompt and different replies are not duplicates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ru_llm.core.conversation import Conversation
from ru_llm.core.deps import require
from ru_llm.dataset.preference import PREFERENCE_KEY

_WORD = re.compile(r"\w+", re.UNICODE)


def _turns(conv: Conversation) -> list[tuple[str, str]]:
    """(role, text) of every message, then a pair's ``chosen`` and ``rejected`` replies."""
    turns = [(m.role, m.content) for m in conv.messages]
    replies = conv.meta.get(PREFERENCE_KEY)
    if isinstance(replies, Mapping):
        turns += [(key, str(replies.get(key) or "")) for key in ("chosen", "rejected")]
    return turns


class ExactDedup:
    """Remembers a 64-bit hash per kept conversation: flat enough for millions.

    Python's own string hash (SipHash) is fast and stable within a run, which is all dedup needs; a
    false match is about n²/2⁶⁵ likely (1e-9 for 250,000) and would still show in the rejects file.
    """

    def __init__(self) -> None:
        self._seen: dict[int, str] = {}

    @staticmethod
    def key(conv: Conversation) -> int:
        return hash(tuple((role, text.strip()) for role, text in _turns(conv)))

    def duplicate_of(self, conv: Conversation, *, remember: bool = True) -> str | None:
        """The id of an earlier identical conversation, or ``None`` (and remember this one, unless told
        not to: a later check may still reject it)."""
        key = self.key(conv)
        first = self._seen.get(key)
        if first is None and remember:
            self._seen[key] = conv.id
        return first

    def remember(self, conv: Conversation) -> None:
        self._seen.setdefault(self.key(conv), conv.id)


class NearDedup:
    """MinHash LSH (datasketch) over word 3-shingles of the whole conversation, lower-cased."""

    def __init__(self, threshold: float, num_perm: int = 64) -> None:
        datasketch = require(
            "datasketch", purpose="near-duplicate removal (dedup.near)", package="ru-llm-dataset", extra="dedup"
        )
        self.threshold = threshold
        self.num_perm = num_perm
        self._lsh = datasketch.MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._signatures: list[object] = []  # by insertion number: ids may repeat before renaming
        self._ids: list[str] = []

    def _minhash(self, conv: Conversation) -> object:
        from datasketch import MinHash

        words = _WORD.findall(" ".join(text for _, text in _turns(conv)).lower())
        shingles = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}
        minhash = MinHash(num_perm=self.num_perm)
        minhash.update_batch([s.encode("utf-8") for s in shingles])
        return minhash

    def duplicate_of(self, conv: Conversation) -> tuple[str, float] | None:
        """An earlier near-identical conversation's id with the estimated similarity, or ``None``."""
        minhash = self._minhash(conv)
        for other in self._lsh.query(minhash):
            similarity = minhash.jaccard(self._signatures[other])
            if similarity >= self.threshold:
                return self._ids[other], similarity
        self._lsh.insert(len(self._ids), minhash)
        self._signatures.append(minhash)
        self._ids.append(conv.id)
        return None
