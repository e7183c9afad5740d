"""The translation engine: conversations in, Russian conversations out, nothing lost.

1. Every message is segmented (prose is translated, code, tables, markup and spacing are kept).
2. Identical segments across the whole dataset are translated once.
3. Segments are sorted by length and batched by a token budget; batches are fixed before the cache
   is consulted, so a resumed run batches (and so translates) exactly as an uninterrupted one.
4. Each batch is translated, repaired and checked; segments that fail a check are retried once with
   beam search and ``no_repeat_ngram_size``; results are committed to the SQLite cache per batch.
5. Records are assembled in input order. A record with a segment that still fails is rejected with
   its machine-readable flags; the rest keep their id (+ ``-ru``), licence and source, with
   ``meta.translation = {backend, model, source_id, flags}``.

With a shard ``(i, n)`` the engine only translates its share of the segments (by a stable hash) into
the cache; assembling needs every share, so a shard run writes no records.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ru_llm.core.conversation import Conversation, Message
from ru_llm.core.jsonl import Reject, to_json_line
from ru_llm.translate.backends.base import RETRY, Decoding, LoadedTranslator
from ru_llm.translate.cache import CachedSegment, TranslationCache
from ru_llm.translate.checks import CheckConfig, segment_flags
from ru_llm.translate.protect import PLACEHOLDER_RE
from ru_llm.translate.repair import repair_translation
from ru_llm.translate.segment import Piece, join_pieces, segment_text

Progress = Callable[[int, int], None]  # (segments done, segments to translate)
#: an informational flag: the segment needed the retry; it does not reject its record
RETRIED = "retried"
INFO_FLAGS = frozenset({RETRIED})


@dataclass(frozen=True)
class EngineConfig:
    decoding: Decoding = field(default_factory=Decoding)
    retry: Decoding | None = RETRY  # None: no second attempt
    checks: CheckConfig = field(default_factory=CheckConfig)
    #: padded tokens per batch (longest input x batch size): bounds memory whatever the lengths
    batch_tokens: int = 8192
    max_batch_size: int = 64
    shard: tuple[int, int] | None = None  # (index, count), 0-based index

    def settings(self) -> dict[str, Any]:
        """What, besides backend and model, changes a cached translation."""
        return {
            "decoding": self.decoding.to_dict(),
            "retry": self.retry.to_dict() if self.retry else None,
            "checks": self.checks.to_dict(),
            # batch composition changes padding, and padding can change a model's output
            "batch_tokens": self.batch_tokens,
            "max_batch_size": self.max_batch_size,
        }


@dataclass
class EngineStats:
    records_in: int = 0
    records_out: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # by flag
    segments: int = 0  # translatable pieces, all records
    unique_segments: int = 0
    translated: int = 0  # sent to the model in this run
    cached: int = 0  # segments found in the cache
    cached_records: int = 0  # whole records found in the cache (not even segmented again)
    retried: int = 0
    passed_through: int = 0  # verbatim pieces (code, markup, spacing)
    other_shards: int = 0  # left to other shards

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["rejected"] = dict(self.rejected)
        return data


@dataclass
class _Record:
    conv: Conversation
    pieces: list[list[Piece]]  # per message


def _unique_segments(records: Iterable[_Record]) -> list[str]:
    """Each translatable text once, in first-seen order."""
    return list(dict.fromkeys(p.text for r in records for ps in r.pieces for p in ps if p.translate))


def shard_of(text: str, count: int) -> int:
    """The shard a segment belongs to: stable across runs and machines."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") % count


def plan_batches(texts: Sequence[str], lengths: Sequence[int], batch_tokens: int, max_batch: int) -> list[list[str]]:
    """Texts sorted by length (then text) and cut into batches whose padded size fits the budget."""
    order = sorted(range(len(texts)), key=lambda i: (lengths[i], texts[i]))
    batches: list[list[str]] = []
    current: list[str] = []
    longest = 0
    for i in order:
        longest_if_added = max(longest, lengths[i])
        if current and (longest_if_added * (len(current) + 1) > batch_tokens or len(current) >= max_batch):
            batches.append(current)
            current, longest_if_added = [], lengths[i]
        current.append(texts[i])
        longest = longest_if_added
    if current:
        batches.append(current)
    return batches


class TranslationEngine:
    """Translate conversations with a loaded backend, a cache and checks."""

    def __init__(
        self,
        translator: LoadedTranslator,
        cache: TranslationCache,
        config: EngineConfig | None = None,
        *,
        backend_name: str = "",
        backend_commercial: bool = True,
        progress: Progress | None = None,
    ) -> None:
        self.translator = translator
        self.cache = cache
        self.config = config or EngineConfig()
        self.backend_name = backend_name
        # a translation is derived from the MT model too: one whose weights are not cleared for commercial
        # use (NLLB: CC-BY-NC) makes its translations not cleared, whatever the source's stamp said
        self.backend_commercial = backend_commercial
        self.progress = progress
        self.stats = EngineStats()

    # -- segmentation ---------------------------------------------------------------------------
    def _too_long(self, text: str) -> bool:
        limit = self.translator.max_input_tokens
        # A token is at least one character, so short texts need no tokenizer call.
        return len(text) > limit and self.translator.count_tokens([text])[0] > limit

    def _segment(self, conv: Conversation) -> _Record:
        pieces = [segment_text(m.content, too_long=self._too_long) for m in conv.messages]
        for message_pieces in pieces:
            for piece in message_pieces:
                if piece.translate:
                    self.stats.segments += 1
                else:
                    self.stats.passed_through += 1
        return _Record(conv, pieces)

    # -- translation ----------------------------------------------------------------------------
    def _translate_batch(self, texts: list[str]) -> list[tuple[str, str, tuple[str, ...]]]:
        results = self._attempt(texts, self.config.decoding)
        failed = [i for i, (_, _, flags) in enumerate(results) if flags]
        if failed and self.config.retry is not None:
            self.stats.retried += len(failed)
            again = self._attempt([texts[i] for i in failed], self.config.retry)
            for i, (source, text, flags) in zip(failed, again, strict=True):
                if len(flags) <= len(results[i][2]):  # keep the attempt with fewer problems
                    results[i] = (source, text, (*flags, RETRIED))
        return results

    def _attempt(self, texts: list[str], decoding: Decoding) -> list[tuple[str, str, tuple[str, ...]]]:
        out = []
        for source, result in zip(texts, self.translator.translate(texts, decoding), strict=True):
            text = repair_translation(result.text)
            # Only the placeholders are checked here: the same text carries different spans in different
            # records, so a stand-in that never occurs verbatim makes a missing placeholder count as lost.
            spans = ("\x00",) * len(set(PLACEHOLDER_RE.findall(source)))
            flags = segment_flags(source, text, hit_cap=result.hit_cap, spans=spans, config=self.config.checks)
            out.append((source, text, tuple(flags)))
        return out

    def translate_segments(self, texts: Sequence[str]) -> dict[str, CachedSegment]:
        """Translate the unique ``texts`` (those of this shard), through the cache; returns all results."""
        found = self.cache.get_many(texts)
        self.stats.cached += len(found)
        missing = [t for t in texts if t not in found]
        if not missing:
            return found
        lengths = self.translator.count_tokens(list(texts))
        batches = plan_batches(texts, lengths, self.config.batch_tokens, self.config.max_batch_size)
        done = 0
        for batch in batches:
            todo = [t for t in batch if t not in found]
            if todo:
                # A batch is committed whole, so a resumed run finds every batch either done or not.
                results = self._translate_batch(batch if len(todo) == len(batch) else todo)
                self.cache.put_many(results)
                for source, translation, flags in results:
                    found[source] = CachedSegment(translation, flags)
                self.stats.translated += len(results)
                done += len(todo)
                if self.progress:
                    self.progress(done, len(missing))
        return found

    # -- records --------------------------------------------------------------------------------
    def run(
        self, conversations: Iterable[Conversation], *, on_reject: Callable[[Reject], object]
    ) -> Iterator[Conversation]:
        """Russian conversations in input order; failures go to ``on_reject`` with their flags."""
        return (translated for _, translated in self.run_pairs(conversations, on_reject=on_reject))

    def run_pairs(
        self, conversations: Iterable[Conversation], *, on_reject: Callable[[Reject], object]
    ) -> Iterator[tuple[Conversation, Conversation]]:
        """``(original, translation)`` pairs in input order (ids may repeat: pairs do not rely on them)."""
        convs = list(conversations)
        self.stats.records_in = len(convs)
        if self.config.shard is not None:
            self._translate_shard([self._segment(c) for c in convs])
            return
        keys = [self._record_key(c) for c in convs]
        done = self.cache.get_records(keys)
        self.stats.cached_records = len(done)
        for result in done.values():  # counted as if segmented again, so reruns report the same totals
            self.stats.segments += result["segments"]
            self.stats.cached += result["segments"]
            self.stats.passed_through += result["passed_through"]
        pending = [self._segment(c) for c, k in zip(convs, keys, strict=True) if k not in done]
        unique = _unique_segments(pending)
        self.stats.unique_segments = len(unique)
        results = self.translate_segments(unique)
        fresh = {}
        for record in pending:
            key = self._record_key(record.conv)
            fresh[key] = done[key] = self._assemble(record, results)
        self.cache.put_records(fresh.items())
        for conv, key in zip(convs, keys, strict=True):
            result = done[key]
            if "reject" in result:
                for flag in result["flags"]:
                    self.stats.rejected[flag] += 1
                on_reject(Reject(result["reject"], record_id=conv.id, record=conv.to_dict(), flags=result["flags"]))
            else:
                self.stats.records_out += 1
                yield conv, Conversation.from_dict(result["conversation"])

    def _record_key(self, conv: Conversation) -> bytes:
        return self.cache.key("record\x00" + to_json_line(conv))

    def _translate_shard(self, records: list[_Record]) -> None:
        unique = _unique_segments(records)
        index, count = self.config.shard  # type: ignore[misc]
        mine = [t for t in unique if shard_of(t, count) == index]
        self.stats.unique_segments = len(unique)
        self.stats.other_shards = len(unique) - len(mine)
        self.translate_segments(mine)

    def _assemble(self, record: _Record, results: dict[str, CachedSegment]) -> dict[str, Any]:
        """The stored result of one record: its translation, or why it was rejected."""
        conv = record.conv
        flags: set[str] = set()
        messages = []
        for message, pieces in zip(conv.messages, record.pieces, strict=True):
            translations = {}
            for i, piece in enumerate(pieces):
                if piece.translate:
                    cached = results[piece.text]
                    flags.update(cached.flags)
                    translations[i] = cached.translation
            messages.append(Message(message.role, join_pieces(pieces, translations)))
        counts = {
            "segments": sum(p.translate for ps in record.pieces for p in ps),
            "passed_through": sum(not p.translate for ps in record.pieces for p in ps),
        }
        failures = sorted(flags - INFO_FLAGS)
        if failures:
            return {"reject": "translation failed: " + ", ".join(failures), "flags": failures, **counts}
        meta = {
            **conv.meta,
            "translation": {
                "backend": self.backend_name,
                "model": self.translator.model_id,
                "source_id": conv.id,
                "flags": sorted(flags),
            },
        }
        commercial = conv.commercial if self.backend_commercial else False  # lowered, never raised
        translated = dataclasses.replace(
            conv, id=f"{conv.id}-ru", messages=tuple(messages), lang="ru", meta=meta, commercial=commercial
        )
        return {"conversation": translated.to_dict(), **counts}
