"""The oasst1_pairs builder: human-ranked sibling replies of the real OASST1 slice as preference pairs.

Counts are checked against an independent count over the raw tree JSON; no Russian OASST1 trees are
in the shared data, so the language option is tested on a copy of a real tree relabelled in the test.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from kit.dataset_cli import recipe_file, run
from kit.qa_builder import write_rows

from ru_llm.core import ConfigError, read_jsonl
from ru_llm.core.jsonl import Reject
from ru_llm.dataset import get_dataset_builder
from ru_llm.dataset.builders import LoadStats
from ru_llm.dataset.preference import FIELDS, PreferencePair, prompt_key, read_preferences

TREES = Path(__file__).resolve().parents[1] / "data" / "datasets" / "oasst" / "en_20_tree.jsonl"


def load(source: Any, **options: Any) -> tuple[list[PreferencePair], list[Reject], LoadStats]:
    rejects: list[Reject] = []
    stats = LoadStats()
    records = get_dataset_builder("oasst1_pairs").load(source, options, on_reject=rejects.append, stats=stats)
    return [PreferencePair.from_conversation(c) for c in records], rejects, stats


def trees() -> list[dict]:
    return [json.loads(line) for line in TREES.read_text(encoding="utf-8").splitlines()]


def expected_counts(tree_list: list[dict]) -> dict[str, int]:
    """Pairs per mode, counted from the raw JSON: every prompter message reachable through kept messages
    (not deleted, not review-failed, not empty, spam <= 0.4, roles alternating) with its kept, ranked
    assistant replies; pairs need different ranks and different texts."""

    def kept(m: dict, parent_role: str | None) -> bool:
        labels = m.get("labels") or {}
        spam = (labels.get("spam") or {}).get("value", 0)
        return (
            not m.get("deleted")
            and m.get("review_result") is not False
            and bool(m["text"].strip())
            and spam <= 0.4
            and m["role"] != parent_role
        )

    counts = {"best_worst": 0, "best_vs_rest": 0, "all": 0}

    def differ(a: dict, b: dict) -> bool:
        return a["rank"] != b["rank"] and a["text"].strip() != b["text"].strip()

    def visit(m: dict) -> None:  # m: a kept message
        replies = [r for r in m["replies"] if kept(r, m["role"])]
        if m["role"] == "prompter":
            ranked = [r for r in replies if r.get("rank") is not None]
            if len(ranked) >= 2:
                best = min(ranked, key=lambda r: r["rank"])  # min/max keep the first of equal ranks
                worst = max(ranked, key=lambda r: r["rank"])
                counts["best_worst"] += differ(best, worst)
                counts["best_vs_rest"] += sum(differ(best, r) for r in ranked if r is not best)
                counts["all"] += sum(differ(a, b) for i, a in enumerate(ranked) for b in ranked[i + 1 :])
        for reply in replies:
            visit(reply)

    for tree in tree_list:
        if kept(tree["prompt"], None):
            visit(tree["prompt"])
    return counts


def flatten(tree_list: list[dict]) -> list[dict]:
    """The trees as hub rows: one message per row, ``parent_id`` and ``message_tree_id`` added."""
    rows: list[dict] = []

    def walk(m: dict, parent: str | None, tree_id: str) -> None:
        row = {k: v for k, v in m.items() if k not in ("replies", "labels")}
        rows.append({**row, "parent_id": parent, "message_tree_id": tree_id})
        for reply in m["replies"]:
            walk(reply, m["message_id"], tree_id)

    for tree in tree_list:
        walk(tree["prompt"], None, tree["message_tree_id"])
    return rows


# -- the real slice ------------------------------------------------------------------------------------
def test_registered_with_its_declarations() -> None:
    builder = get_dataset_builder("oasst1_pairs")
    assert get_dataset_builder("oasst_pairs") is builder and get_dataset_builder("oasst") is not builder
    assert (builder.hub_id, builder.license, builder.commercial, builder.lang, builder.produces) == (
        "OpenAssistant/oasst1", "Apache-2.0", True, "en", "preference")  # fmt: skip
    assert builder.info({"lang": "ru"})["lang"] == "ru"
    assert builder.info({"lang": None})["lang"] is None


def test_counts_per_mode_match_an_independent_count() -> None:
    expected = expected_counts(trees())
    assert expected == {"best_worst": 35, "best_vs_rest": 73, "all": 141}
    for mode, count in expected.items():
        pairs, rejects, stats = load(TREES, pairs=mode)
        assert len(pairs) == count, mode
        assert rejects == [] and stats.rows == 20 and stats.conversations == count
    default, _, _ = load(TREES)
    assert len(default) == expected["best_worst"]


@pytest.mark.parametrize("mode", ["best_worst", "best_vs_rest", "all"])
def test_pairs_are_ranked_threads_ending_on_the_user(mode: str) -> None:
    pairs, _, _ = load(TREES, pairs=mode)
    assert len({p.id for p in pairs}) == len(pairs)
    for p in pairs:
        meta = p.meta
        assert meta["chosen_rank"] < meta["rejected_rank"] and meta["pairs"] == mode
        assert p.id == f"oasst1-{meta['prompt_message_id']}-{meta['chosen_id']}-{meta['rejected_id']}"
        assert [m.role for m in p.messages] == ["user", "assistant"] * (len(p.messages) // 2) + ["user"]
        assert (p.source, p.lang, p.license) == ("oasst1", "en", "Apache-2.0")
        assert p.chosen.strip() != p.rejected.strip()
    if mode != "all":
        assert all(p.meta["chosen_rank"] == 0 for p in pairs)  # nothing ranked 0 is filtered out here
    assert any(len(p.messages) > 1 for p in pairs)  # follow-up prompts carry their thread


def test_modes_nest_and_best_worst_takes_the_extremes() -> None:
    by_mode = {mode: load(TREES, pairs=mode)[0] for mode in ("best_worst", "best_vs_rest", "all")}
    ids = {mode: {p.id for p in pairs} for mode, pairs in by_mode.items()}
    assert ids["best_worst"] <= ids["best_vs_rest"] <= ids["all"]
    worst: dict[str, float] = defaultdict(float)
    for p in by_mode["all"]:
        worst[p.meta["prompt_message_id"]] = max(worst[p.meta["prompt_message_id"]], p.meta["rejected_rank"])
    for p in by_mode["best_worst"]:
        assert p.meta["rejected_rank"] == worst[p.meta["prompt_message_id"]]


def test_prompt_thread_follows_the_tree(tmp_path: Path) -> None:
    def msg(mid: str, role: str, text: str, replies: list | None = None, **extra: Any) -> dict:
        return {"message_id": mid, "text": text, "role": role, "lang": "ru", "replies": replies or [], **extra}

    tree = {
        "message_tree_id": "t",
        "prompt": msg("p", "prompter", "Привет", [
            msg("a0", "assistant", "Здравствуйте!", [
                msg("p2", "prompter", "Как дела?", [
                    msg("b0", "assistant", "Хорошо.", rank=0),
                    msg("b1", "assistant", "Хорошо.  ", rank=1),  # same text: no pair
                    msg("b2", "assistant", "Плохо.", rank=2),
                    msg("bx", "assistant", "Не оценён."),  # unranked: never in a pair
                ]),
            ], rank=0),
            msg("a1", "assistant", "Чего?", rank=1, deleted=True),  # filtered: p has one ranked reply left
            msg("a2", "assistant", "Спам", rank=2, labels={"spam": {"value": 0.9, "count": 3}}),
        ]),
    }  # fmt: skip
    path = write_rows(tmp_path / "ru.jsonl", [tree])
    pairs, rejects, _ = load(path, lang="ru", pairs="all")
    assert rejects == []
    assert [p.id for p in pairs] == ["oasst1-p2-b0-b2", "oasst1-p2-b1-b2"]
    assert [m.content for m in pairs[0].messages] == ["Привет", "Здравствуйте!", "Как дела?"]
    assert pairs[0].lang == "ru" and pairs[0].meta["message_tree_id"] == "t"
    assert [p.id for p in load(path, lang="ru")[0]] == ["oasst1-p2-b0-b2"]
    _, rejects, _ = load(path)  # default lang en
    assert [r.reason for r in rejects] == ["tree language 'ru' is not 'en' (option 'lang')"]
    assert len(load(path, lang=None)[0]) == 1
    tree["prompt"]["replies"][0]["replies"][0]["replies"][2]["rank"] = None
    write_rows(path, [tree])
    _, rejects, _ = load(path, lang="ru")
    assert [r.reason for r in rejects] == [
        "no preference pair: no prompt has two differently ranked, different replies left"
    ]


def test_language_option_on_a_relabelled_real_tree(tmp_path: Path) -> None:
    def relabel(m: dict) -> None:
        m["lang"] = "ru"
        for reply in m["replies"]:
            relabel(reply)

    en, ru = trees()[:2]
    relabel(ru["prompt"])
    path = write_rows(tmp_path / "mixed.jsonl", [en, ru])
    assert {p.lang for p in load(path, lang="ru")[0]} == {"ru"}
    assert {p.lang for p in load(path, lang=None)[0]} == {"en", "ru"}
    assert {p.lang for p in load(path, lang="EN")[0]} == {"en"}


def test_flat_hub_rows_give_the_same_pairs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    expected = [p.to_dict() for p in load(TREES, pairs="all")[0]]
    rows = flatten(trees())
    local = write_rows(tmp_path / "rows.jsonl", rows)
    assert [p.to_dict() for p in load(local, pairs="all")[0]] == expected
    calls: list[tuple] = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: calls.append(a) or iter(rows))
    hub, rejects, _ = load(None, pairs="all")
    assert calls[0][0] == "OpenAssistant/oasst1" and rejects == []
    assert [p.to_dict() for p in hub] == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pairs": "best"}, "option 'pairs' must be one of"),
        ({"lang": ""}, "option 'lang' must be a language code or null"),
        ({"max_spam": "high"}, "option 'max_spam' must be a number"),
        ({"skip_synthetic": "yes"}, "option 'skip_synthetic'"),
        ({"mode": "main"}, "has no option 'mode'"),
    ],
)
def test_bad_options_are_one_line_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        get_dataset_builder("oasst1_pairs").parse_options(options)
    assert "\n" not in str(info.value)


def test_bad_option_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    recipe = recipe_file(tmp_path, sources=[{"builder": "oasst1_pairs", "source": str(TREES),
                                             "options": {"pairs": "every"}}])  # fmt: skip
    result = run("dataset", "build", recipe, "--out", tmp_path / "out")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "option 'pairs' must be one of" in result.stderr


# -- dataset build --------------------------------------------------------------------------------------
def test_build_splits_by_prompt_and_passes_commercial(tmp_path: Path) -> None:
    recipe = recipe_file(
        tmp_path,
        validation=0.3,
        sources=[{"builder": "oasst1_pairs", "source": str(TREES), "options": {"pairs": "all"}}],
    )
    out = tmp_path / "out"
    result = run("dataset", "build", recipe, "--out", out, "--commercial")
    assert result.exit_code == 0, result.output
    splits: dict[str, set[str]] = defaultdict(set)
    kept = 0
    for split in ("train", "validation"):
        assert all(tuple(r) == FIELDS for r in read_jsonl(out / f"{split}.jsonl"))
        for pair in read_preferences(out / f"{split}.jsonl"):
            splits[prompt_key(pair.messages)].add(split)
            kept += 1
    assert all(len(s) == 1 for s in splits.values())
    assert {s for both in splits.values() for s in both} == {"train", "validation"}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["kind"] == "preference" and stats["kept"] == kept
    assert kept + len(list(read_jsonl(out / "rejects.jsonl"))) == 141
    card = (out / "README.md").read_text()
    assert "Apache-2.0" in card and "Not cleared for commercial use" not in card
