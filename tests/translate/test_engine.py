"""The translation engine with a deterministic fake backend: order, dedup, batching, retry, cache, shards."""

from __future__ import annotations

from pathlib import Path

import pytest
from kit.fake_mt import FakeBackend, FakeLoaded

from ru_llm.core import conversation
from ru_llm.translate.backends import Decoding
from ru_llm.translate.cache import TranslationCache, iter_entries, merge_caches
from ru_llm.translate.engine import EngineConfig, TranslationEngine, plan_batches

CODE = "Here is code:\n\n```python\nprint('hello world')\n```\n\nIt prints a greeting."


def convs():
    return [
        conversation("c1", [("user", "What is the capital of France?"), ("assistant", "Paris is the capital.")],
                     source="dolly", lang="en", license="CC-BY-SA-3.0", meta={"category": "open_qa"}),
        conversation("c2", [("user", "Show me code."), ("assistant", CODE)], source="dolly", lang="en"),
        conversation("c3", [("user", "What is the capital of France?"), ("assistant", "It is Paris.")]),
    ]  # fmt: skip


def engine(cache_path: Path | None = None, loaded: FakeLoaded | None = None, **config) -> TranslationEngine:
    loaded = loaded or FakeBackend().load()
    settings = {"backend": "fake", "model": loaded.model_id, **EngineConfig(**config).settings()}
    return TranslationEngine(loaded, TranslationCache(cache_path, settings), EngineConfig(**config),
                             backend_name="fake")  # fmt: skip


def run(eng: TranslationEngine, items=None):
    rejects = []
    out = list(eng.run(items if items is not None else convs(), on_reject=rejects.append))
    return out, rejects


def test_translates_in_order_and_keeps_lineage() -> None:
    out, rejects = run(engine())
    assert rejects == []
    assert [c.id for c in out] == ["c1-ru", "c2-ru", "c3-ru"]
    first = out[0]
    assert first.lang == "ru" and first.license == "CC-BY-SA-3.0" and first.source == "dolly"
    assert first.meta["category"] == "open_qa"
    assert first.meta["translation"] == {"backend": "fake", "model": "fake-model", "source_id": "c1", "flags": []}
    assert first.messages[0].content.startswith("Вхат ис")  # transliterated by the fake backend


def test_code_blocks_pass_through_unchanged() -> None:
    out, _ = run(engine())
    reply = out[1].messages[1].content
    assert "```python\nprint('hello world')\n```" in reply
    assert reply.startswith("Хере") and "\n\n" in reply


def test_identical_segments_are_translated_once() -> None:
    eng = engine()
    run(eng)
    sent = sum(size for size, _ in eng.translator.calls)
    assert sent == eng.stats.unique_segments < eng.stats.segments
    assert eng.stats.translated == eng.stats.unique_segments and eng.stats.cached == 0


def test_batches_respect_the_token_budget() -> None:
    texts = [" ".join(["word"] * n) for n in (1, 9, 3, 5, 7, 2)]
    lengths = [len(t.split()) for t in texts]
    batches = plan_batches(texts, lengths, batch_tokens=10, max_batch=3)
    assert [len(t.split()) for b in batches for t in b] == sorted(lengths)
    for batch in batches:
        assert max(len(t.split()) for t in batch) * len(batch) <= 10 and len(batch) <= 3


def test_failed_segment_is_retried_with_beam_search() -> None:
    eng = engine()
    out, rejects = run(eng, [conversation("l1", [("user", "Say LOOP please."), ("assistant", "Sure thing.")])])
    assert rejects == [] and len(out) == 1
    assert eng.stats.retried == 1
    assert any(d.num_beams > 1 and d.no_repeat_ngram_size > 0 for _, d in eng.translator.calls)


def test_a_segment_that_stays_broken_rejects_its_record_with_flags() -> None:
    eng = engine()
    items = [*convs(), conversation("b1", [("user", "This is BROKEN text."), ("assistant", "Indeed.")])]
    out, rejects = run(eng, items)
    assert [c.id for c in out] == ["c1-ru", "c2-ru", "c3-ru"]
    assert len(rejects) == 1 and rejects[0].record_id == "b1"
    assert rejects[0].reason.startswith("translation failed: ") and "repetition" in rejects[0].reason
    assert rejects[0].record["messages"][0]["content"] == "This is BROKEN text."
    assert eng.stats.records_in == 4 == eng.stats.records_out + 1


def test_rerun_comes_from_the_cache(tmp_path: Path) -> None:
    first, _ = run(engine(tmp_path / "c.sqlite"))
    again = engine(tmp_path / "c.sqlite")
    second, _ = run(again)
    assert second == first
    assert again.translator.calls == [] and again.stats.translated == 0
    assert again.stats.cached_records == 3, "whole records come from the cache, not even segmented again"
    extended = engine(tmp_path / "c.sqlite")
    more = [*convs(), conversation("c4", [("user", "What is the capital of France?"), ("assistant", "Paris.")])]
    out, _ = run(extended, more)
    assert [c.id for c in out] == ["c1-ru", "c2-ru", "c3-ru", "c4-ru"]
    stats = extended.stats
    assert stats.cached_records == 3 and stats.translated == 1
    assert stats.cached == stats.segments - 1, "every segment but the new one comes from the cache"


def test_changed_settings_miss_the_cache(tmp_path: Path) -> None:
    run(engine(tmp_path / "c.sqlite"))
    other = engine(tmp_path / "c.sqlite", decoding=Decoding(num_beams=2))
    run(other)
    assert other.stats.cached == 0 and other.stats.translated == other.stats.unique_segments


def test_shards_split_the_work_and_merge(tmp_path: Path) -> None:
    shard_stats = []
    for i in range(2):
        eng = engine(tmp_path / f"shard{i}.sqlite", shard=(i, 2))
        out, rejects = run(eng)
        assert out == [] and rejects == []
        shard_stats.append(eng.stats)
    unique = shard_stats[0].unique_segments
    assert shard_stats[0].translated + shard_stats[1].translated == unique
    assert all(s.translated > 0 for s in shard_stats)
    assert merge_caches(tmp_path / "all.sqlite", [tmp_path / "shard0.sqlite", tmp_path / "shard1.sqlite"]) == unique
    final = engine(tmp_path / "all.sqlite")
    out, _ = run(final)
    assert len(out) == 3 and final.stats.translated == 0
    assert out == run(engine())[0]


def test_cache_entries_hold_the_source_and_flags(tmp_path: Path) -> None:
    run(engine(tmp_path / "c.sqlite"), [conversation("b", [("user", "BROKEN"), ("assistant", "ok then")])])
    entries = {source: flags for source, _, flags in iter_entries(tmp_path / "c.sqlite")}
    assert "repetition" in entries["BROKEN"] and entries["ok then"] == ()


def test_a_corrupt_cache_file_is_a_clear_error(tmp_path: Path) -> None:
    from ru_llm.core import RuLLMError

    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RuLLMError, match="not a usable translation cache"):
        TranslationCache(bad, {})


def test_lost_or_invented_placeholders_reject_the_record() -> None:
    class Dropper(FakeLoaded):
        def translate(self, texts, decoding):  # loses every [N] placeholder, as a careless model might
            import re

            from ru_llm.translate.backends import Translation

            results = super().translate(texts, decoding)
            return [Translation(re.sub(r"\[\d+\]", "", r.text), r.hit_cap) for r in results]

    eng = engine(loaded=Dropper("drop"))
    items = [conversation("u", [("user", "Please visit https://example.com/page today and tell me."),
                                ("assistant", "It is a nice page about cats.")])]  # fmt: skip
    out, rejects = run(eng, items)
    assert out == [] and rejects[0].flags == ["protected_span"]
    assert rejects[0].to_dict()["flags"] == ["protected_span"]


def test_a_retried_segment_is_noted_in_meta() -> None:
    out, _ = run(engine(), [conversation("l1", [("user", "Say LOOP please."), ("assistant", "Sure thing.")])])
    assert out[0].meta["translation"]["flags"] == ["retried"]
