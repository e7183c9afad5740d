"""Duplicate removal: exact (normalised text digest) and near (MinHash LSH over word shingles)."""

from __future__ import annotations

import hashlib
import re

from ru_llm.core.conversation import Conversation

_WORD = re.compile(r"\w+", re.UNICODE)


def conversation_text(conv: Conversation) -> str:
    """The turns as one string, each stripped; roles kept so a question is not its own answer."""
    return "\x00".join(f"{m.role}\x00{m.content.strip()}" for m in conv.messages)


class ExactDedup:
    """Remembers a 128-bit digest per kept conversation (16 bytes each: flat enough for millions)."""

    def __init__(self) -> None:
        self._seen: dict[bytes, str] = {}

    def duplicate_of(self, conv: Conversation) -> str | None:
        """The id of an earlier identical conversation, or ``None`` (and remember this one)."""
        digest = hashlib.blake2b(conversation_text(conv).encode("utf-8"), digest_size=16).digest()
        first = self._seen.get(digest)
        if first is None:
            self._seen[digest] = conv.id
        return first


class NearDedup:
    """MinHash LSH (datasketch) over word 3-shingles of the whole conversation, lower-cased."""

    def __init__(self, threshold: float, num_perm: int = 64) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.num_perm = num_perm
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._signatures: dict[str, object] = {}

    def _minhash(self, conv: Conversation) -> object:
        from datasketch import MinHash

        words = _WORD.findall(" ".join(m.content for m in conv.messages).lower())
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
                return other, similarity
        key = conv.id
        self._lsh.insert(key, minhash)
        self._signatures[key] = minhash
        return None
