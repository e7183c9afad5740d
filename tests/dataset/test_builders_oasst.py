"""The oasst1 builder on a real slice of the OASST1 tree export, flat hub rows, and hand-made edge cases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ru_llm.core.jsonl import Reject
from ru_llm.dataset import get_dataset_builder
from ru_llm.dataset.builders import LoadStats

TREES = Path(__file__).resolve().parents[1] / "data" / "datasets" / "oasst" / "en_20_tree.jsonl"


def load(source: Any, **options: Any) -> tuple[list, list[Reject], LoadStats]:
    rejects: list[Reject] = []
    stats = LoadStats()
    conversations = list(get_dataset_builder("oasst1").load(source, options, on_reject=rejects.append, stats=stats))
    return conversations, rejects, stats


def trees() -> list[dict]:
    return [json.loads(line) for line in TREES.read_text(encoding="utf-8").splitlines()]


def expected_counts(tree_list: list[dict]) -> tuple[int, int, int]:
    """(main, all, all_trimmed) thread counts, computed without the builder. ``all``: the root-to-leaf
    paths whose leaf is an assistant message; ``all_trimmed``: every path ending on an assistant
    message which no prompter follow-up with an assistant answer extends."""

    def ok(m: dict) -> bool:
        return not m.get("deleted") and m.get("review_result") is not False and bool(m["text"].strip())

    def leaves(m: dict) -> int:  # assistant leaves under m, m included
        kids = [r for r in m["replies"] if ok(r) and r["role"] != m["role"]]
        return sum(leaves(r) for r in kids) if kids else int(m["role"] == "assistant")

    def paths(m: dict) -> int:  # m is an assistant message
        follow_ups = [p for p in m["replies"] if ok(p) and p["role"] == "prompter"]
        extended = sum(paths(a) for p in follow_ups for a in p["replies"] if ok(a) and a["role"] == "assistant")
        return extended or 1

    main = all_ = trimmed = 0
    for tree in tree_list:
        answers = [a for a in tree["prompt"]["replies"] if ok(a) and a["role"] == "assistant"]
        main += bool(answers)
        all_ += sum(leaves(a) for a in answers)
        trimmed += sum(paths(a) for a in answers)
    return main, all_, trimmed


def flatten(tree_list: list[dict]) -> list[dict]:
    """The trees as Hugging Face oasst1 rows (one message per row, ordered by tree)."""
    rows: list[dict] = []

    def walk(m: dict, parent: str | None, tree: dict) -> None:
        labels = m.get("labels") or {}
        rows.append(
            {
                "message_id": m["message_id"],
                "parent_id": parent,
                "user_id": "u",
                "created_date": "2023-02-05T00:00:00",
                "text": m["text"],
                "role": m["role"],
                "lang": m["lang"],
                "review_count": m.get("review_count", 0),
                "review_result": m.get("review_result"),
                "deleted": m.get("deleted", False),
                "rank": m.get("rank"),
                "synthetic": m.get("synthetic", False),
                "model_name": m.get("model_name"),
                "detoxify": None,
                "message_tree_id": tree["message_tree_id"],
                "tree_state": tree["tree_state"],
                "emojis": {"name": [], "count": []},
                "labels": {
                    "name": list(labels),
                    "value": [v["value"] for v in labels.values()],
                    "count": [v["count"] for v in labels.values()],
                },
            }
        )
        for reply in m["replies"]:
            walk(reply, m["message_id"], tree)

    for tree in tree_list:
        walk(tree["prompt"], None, tree)
    return rows


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def msg(mid: str, role: str, text: str, replies: list | None = None, **extra: Any) -> dict:
    return {"message_id": mid, "text": text, "role": role, "lang": "en", "deleted": False, "review_result": True,
            "replies": replies or [], **extra}  # fmt: skip


# -- the real slice ------------------------------------------------------------------------------------
def test_slice_counts_match_an_independent_count() -> None:
    main_expected, all_expected, trimmed_expected = expected_counts(trees())
    main, rejects, stats = load(TREES, mode="main")
    assert rejects == [] and stats.rows == 20
    assert len(main) == main_expected == 20
    every, rejects, _ = load(TREES, mode="all")
    assert len(every) == all_expected == 69
    assert len(rejects) == 2  # two trees whose every path ends on an unanswered prompt
    assert all(r.reason.startswith("no thread left: every path ends on a prompt nobody answered") for r in rejects)
    trimmed, rejects, _ = load(TREES, mode="all_trimmed")
    assert rejects == []
    assert len(trimmed) == trimmed_expected == 98


def test_threads_alternate_and_end_on_the_assistant() -> None:
    for mode in ("main", "all", "all_trimmed"):
        conversations, _, _ = load(TREES, mode=mode)
        assert len({c.id for c in conversations}) == len(conversations)
        for c in conversations:
            assert [m.role for m in c.messages] == ["user", "assistant"] * (len(c.messages) // 2)
            assert (c.source, c.lang, c.license) == ("oasst1", "en", "Apache-2.0")
            assert c.meta["thread"] == mode and c.meta["message_tree_id"]


def test_threads_of_all_are_threads_of_all_trimmed_and_main_follows_rank_zero() -> None:
    main, _, _ = load(TREES, mode="main")
    every = {c.id: c for c in load(TREES, mode="all")[0]}
    trimmed = {c.id: c for c in load(TREES, mode="all_trimmed")[0]}
    for thread in every.values():
        assert trimmed[thread.id].messages == thread.messages
    for thread in main:  # on this slice no best-ranked follow-up is left unanswered
        assert trimmed[thread.id].messages == thread.messages
    first = trees()[0]["prompt"]
    best = min(first["replies"], key=lambda r: r["rank"])
    assert main[0].messages[1].content == best["text"] and main[0].id == f"oasst1-{best['message_id']}"


def test_flat_hub_rows_give_the_same_threads(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = flatten(trees())
    jsonl = write_jsonl(tmp_path / "oasst1.jsonl", rows)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "oasst1.parquet")
    for mode in ("main", "all", "all_trimmed"):
        expected = [c.to_dict() for c in load(TREES, mode=mode)[0]]
        expected_rejects = [r.record_id for r in load(TREES, mode=mode)[1]]
        for source in (jsonl, tmp_path / "oasst1.parquet"):
            got, rejects, stats = load(source, mode=mode)
            assert [r.record_id for r in rejects] == expected_rejects and stats.rows == 20
            assert [c.to_dict() for c in got] == expected


def test_interleaved_local_rows_are_grouped_in_memory(tmp_path: Path) -> None:
    rows = flatten(trees()[:4])
    shuffled = rows[::2] + rows[1::2]
    got, rejects, _ = load(write_jsonl(tmp_path / "shuffled.jsonl", shuffled), mode="all")
    expected = load(write_jsonl(tmp_path / "sorted.jsonl", rows), mode="all")[0]
    assert rejects == [] and sorted(c.id for c in got) == sorted(c.id for c in expected)


def test_hub_rows_stream_tree_by_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    rows = flatten(trees())
    consumed = [0]

    def stream() -> Iterator[dict]:
        for row in rows:
            consumed[0] += 1
            yield row

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: stream())
    conversations = get_dataset_builder("oasst1").load(options={"mode": "main"}, on_reject=lambda r: None)
    first = next(conversations)
    first_tree = sum(1 for r in rows if r["message_tree_id"] == first.meta["message_tree_id"])
    assert consumed[0] == first_tree + 1  # the first tree, and the row that showed it had ended
    assert len([first, *conversations]) == 20


def test_hub_rows_out_of_tree_order_are_rejected_not_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    rows = flatten(trees()[:2])
    late = rows.pop(1)  # a reply of tree 0 arriving after tree 1
    rows.append(late)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: iter(rows))
    rejects: list[Reject] = []
    list(get_dataset_builder("oasst1").load(on_reject=rejects.append))
    assert len(rejects) == 1 and "input not grouped by tree" in rejects[0].reason
    assert rejects[0].record_id == late["message_id"]


# -- filters on hand-made trees ---------------------------------------------------------------------------
def tree(prompt: dict, tree_id: str = "t1") -> dict:
    return {"message_tree_id": tree_id, "tree_state": "ready_for_export", "prompt": prompt}


def test_skips_deleted_review_failed_spam_and_unanswered_messages(tmp_path: Path) -> None:
    prompt = msg(
        "p",
        "prompter",
        "Question?",
        [
            msg("a-deleted", "assistant", "gone", deleted=True, rank=0),
            msg("a-failed", "assistant", "bad", review_result=False, rank=1),
            msg("a-spam", "assistant", "buy now", labels={"spam": {"value": 0.6, "count": 3}}, rank=2),
            msg(
                "a-ok",
                "assistant",
                "Answer.",
                [
                    msg("u-unanswered", "prompter", "And then?"),
                    msg(
                        "u-ok",
                        "prompter",
                        "Why?",
                        [msg("a-2", "assistant", "Because.", labels={"spam": {"value": 0.4, "count": 1}})],
                    ),
                ],
                rank=3,
            ),
            msg("a-unranked", "assistant", "Another answer."),
        ],
    )
    source = write_jsonl(tmp_path / "t.jsonl", [tree(prompt)])
    every, rejects, _ = load(source, mode="all")
    assert rejects == []
    assert sorted(c.id for c in every) == ["oasst1-a-2", "oasst1-a-unranked"]
    deep = next(c for c in every if c.id == "oasst1-a-2")
    assert [m.content for m in deep.messages] == ["Question?", "Answer.", "Why?", "Because."]
    (main,), _, _ = load(source, mode="main")
    assert main.id == "oasst1-a-ok"  # rank 3 beats unranked; then the first follow-up is unanswered: stop
    strict, _, _ = load(source, mode="all", max_spam=0.3)
    assert sorted(c.id for c in strict) == ["oasst1-a-unranked"]  # a-2 is spam now: a-ok ends on two prompts
    strict, _, _ = load(source, mode="all_trimmed", max_spam=0.3)
    assert sorted(c.id for c in strict) == ["oasst1-a-ok", "oasst1-a-unranked"]


def test_flat_spam_labels_and_language_filter(tmp_path: Path) -> None:
    prompt = msg(
        "p", "prompter", "Вопрос?", [msg("a1", "assistant", "Ответ.", rank=0), msg("a2", "assistant", "Спам", rank=1)]
    )
    for m in (prompt, *prompt["replies"]):
        m["lang"] = "ru"
    rows = flatten([tree(prompt, "ru-tree")])
    rows[2]["labels"] = {"name": ["spam", "fails_task"], "value": [0.9, 0.1], "count": [3, 3]}
    source = write_jsonl(tmp_path / "flat.jsonl", rows)
    conversations, rejects, _ = load(source)
    assert conversations == []
    assert [r.reason for r in rejects] == ["tree language 'ru' is not 'en' (option 'lang')"]
    assert rejects[0].record_id == "ru-tree"
    conversations, rejects, _ = load(source, lang="ru", mode="all")
    assert rejects == [] and [c.id for c in conversations] == ["oasst1-a1"] and conversations[0].lang == "ru"
    conversations, _, _ = load(source, lang=None, mode="all")
    assert len(conversations) == 1


def test_a_tree_without_a_thread_is_rejected_with_the_reason(tmp_path: Path) -> None:
    unanswered = tree(msg("p", "prompter", "Hello?", [msg("a", "assistant", "x", deleted=True)]))
    deleted_prompt = tree(msg("p2", "prompter", "Hi", [msg("b", "assistant", "Hello")], deleted=True), "t2")
    conversations, rejects, stats = load(write_jsonl(tmp_path / "t.jsonl", [unanswered, deleted_prompt]))
    assert conversations == [] and stats.rejected == 2
    assert all(r.reason.startswith("no thread left") for r in rejects)
    assert [r.record_id for r in rejects] == ["t1", "t2"]


def test_skip_synthetic(tmp_path: Path) -> None:
    conversations, _, _ = load(TREES, mode="all", skip_synthetic=True)
    every, _, _ = load(TREES, mode="all")
    assert 0 < len(conversations) < len(every)
    assert not any(c.meta["message_tree_id"] == trees()[0]["message_tree_id"] for c in conversations)


def test_broken_flat_rows_are_each_rejected(tmp_path: Path) -> None:
    rows = flatten([tree(msg("p", "prompter", "Q?", [msg("a", "assistant", "A.")]))])
    orphan = {**rows[1], "message_id": "orphan", "parent_id": "missing"}
    no_tree = {**rows[1], "message_id": "x", "message_tree_id": None}
    second_root = flatten([tree(msg("r1", "prompter", "Q1", [msg("ra", "assistant", "A1")]), "t2")])
    extra_root = {**second_root[0], "message_id": "r2"}
    lines = [json.dumps(r) for r in [*rows, orphan, no_tree, *second_root, extra_root]]
    lines.insert(1, "{not json")
    source = tmp_path / "flat.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    conversations, rejects, _ = load(source, mode="all")
    assert [c.id for c in conversations] == ["oasst1-a"]
    reasons = {r.record_id: r.reason for r in rejects}
    assert reasons["orphan"] == "parent 'missing' is not in tree t1"
    assert reasons["x"] == "'message_tree_id' must be a non-empty string, got null"
    assert reasons["r1"] == reasons["r2"] == reasons["ra"]
    assert "has 2 root prompts" in reasons["r1"]
    assert any(r.reason.startswith("invalid JSON") and r.line == 2 for r in rejects)
    assert len(rejects) == 6


def test_a_record_of_neither_layout_is_rejected(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "odd.jsonl", [{"text": "hello"}, [1, 2]])
    conversations, rejects, _ = load(source)
    assert conversations == [] and len(rejects) == 2
    assert rejects[0].reason == "expected a message tree ('prompt') or a message row ('message_id'), got ['text']"
    assert rejects[1].reason.endswith("got array")
