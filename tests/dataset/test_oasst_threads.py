"""Which OASST1 threads each mode gives (issue 13): ``all`` is the paper's definition, every
root-to-leaf path whose leaf is an assistant message; ``all_trimmed`` keeps the old ``all``; ``main``
stops, as Saiga's main-branch script, where the best-ranked reply is a prompt nobody answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ru_llm.core.jsonl import Reject
from ru_llm.dataset import get_dataset_builder

TREES = Path(__file__).resolve().parents[1] / "data" / "datasets" / "oasst" / "en_20_tree.jsonl"


def load(source: Path, **options: Any) -> tuple[list, list[Reject]]:
    rejects: list[Reject] = []
    conversations = list(get_dataset_builder("oasst1").load(source, options, on_reject=rejects.append))
    return conversations, rejects


def msg(mid: str, role: str, text: str, replies: list | None = None, **extra: Any) -> dict:
    return {"message_id": mid, "text": text, "role": role, "lang": "en", "deleted": False, "review_result": True,
            "replies": replies or [], **extra}  # fmt: skip


def write_trees(path: Path, *prompts: dict) -> Path:
    lines = [json.dumps({"message_tree_id": p["message_id"], "prompt": p}) for p in prompts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def assistant_leaves(message: dict) -> list[list[str]]:
    """The paper's threads of a raw tree, as message ids: root-to-leaf paths ending on an assistant."""
    kids = [r for r in message["replies"] if not r["deleted"] and r["review_result"] is not False]
    if not kids:
        return [[message["message_id"]]] if message["role"] == "assistant" else []
    return [[message["message_id"], *path] for kid in kids for path in assistant_leaves(kid)]


def test_all_gives_the_root_to_assistant_leaf_paths_of_the_real_slice() -> None:
    trees = [json.loads(line) for line in TREES.read_text(encoding="utf-8").splitlines()]
    expected = [path for tree in trees for path in assistant_leaves(tree["prompt"])]
    every, rejects = load(TREES, mode="all")
    assert len(every) == len(expected) == 69  # the old `all` gave 98 here (546 on the 100 shared trees, now 400)
    assert sorted(c.id for c in every) == sorted(f"oasst1-{path[-1]}" for path in expected)
    assert len(rejects) == 2  # the trees whose every path ends on an unanswered prompt
    trimmed, rejects = load(TREES, mode="all_trimmed")
    assert len(trimmed) == 98 and rejects == []


def test_a_reply_followed_only_by_unanswered_prompts_is_not_a_thread_of_all(tmp_path: Path) -> None:
    prompt = msg(
        "p",
        "prompter",
        "Q?",
        [
            msg("a1", "assistant", "A1.", [msg("u1", "prompter", "More?"), msg("u2", "prompter", "Why?")], rank=0),
            msg("a2", "assistant", "A2.", [msg("u3", "prompter", "Sure?", [msg("a3", "assistant", "Yes.")])], rank=1),
            msg("a4", "assistant", "A4.", [msg("u4", "prompter", "And?")], rank=2),
            msg("a5", "assistant", "A5.", rank=3),
        ],
    )
    source = write_trees(tmp_path / "t.jsonl", prompt)
    every, rejects = load(source, mode="all")
    assert rejects == []
    assert [c.id for c in every] == ["oasst1-a3", "oasst1-a5"]
    assert [m.content for m in every[0].messages] == ["Q?", "A2.", "Sure?", "Yes."]
    trimmed, rejects = load(source, mode="all_trimmed")  # the old meaning of `all`, each thread once
    assert rejects == []
    assert [c.id for c in trimmed] == ["oasst1-a1", "oasst1-a3", "oasst1-a4", "oasst1-a5"]
    assert {c.meta["thread"] for c in trimmed} == {"all_trimmed"}


def test_an_assistant_with_answered_and_unanswered_follow_ups_is_no_leaf_in_either(tmp_path: Path) -> None:
    prompt = msg(
        "p",
        "prompter",
        "Q?",
        [
            msg(
                "a1",
                "assistant",
                "A1.",
                [msg("u1", "prompter", "Hm?"), msg("u2", "prompter", "Ok?", [msg("a2", "assistant", "Ok.")])],
            )
        ],
    )
    source = write_trees(tmp_path / "t.jsonl", prompt)
    for mode in ("all", "all_trimmed"):
        conversations, rejects = load(source, mode=mode)
        assert rejects == [] and [c.id for c in conversations] == ["oasst1-a2"]


def test_main_stops_at_a_best_ranked_prompt_nobody_answered(tmp_path: Path) -> None:
    ranked = msg(
        "p",
        "prompter",
        "Q?",
        [
            msg(
                "a1",
                "assistant",
                "A1.",
                [
                    msg("u-best", "prompter", "Best follow-up, never answered", rank=0),
                    msg("u-next", "prompter", "Answered follow-up", [msg("a2", "assistant", "A2.")], rank=1),
                ],
                rank=0,
            ),
            msg("a-other", "assistant", "Other.", rank=1),
        ],
    )
    unranked = msg(  # the shape of three of the 100 shared trees: no ranks, the first follow-up unanswered
        "q",
        "prompter",
        "Which GPU?",
        [
            msg(
                "b1",
                "assistant",
                "It depends.",
                [
                    msg("v1", "prompter", "For GPT-J?"),
                    msg("v2", "prompter", "How long?", [msg("b2", "assistant", "Days.")]),
                ],
            ),
        ],
    )
    source = write_trees(tmp_path / "t.jsonl", ranked, unranked)
    main, rejects = load(source, mode="main")
    assert rejects == []
    assert [c.id for c in main] == ["oasst1-a1", "oasst1-b1"]
    assert [m.content for m in main[0].messages] == ["Q?", "A1."]
    assert [m.content for m in main[1].messages] == ["Which GPU?", "It depends."]


def test_main_follows_an_answered_best_ranked_prompt(tmp_path: Path) -> None:
    prompt = msg(
        "p",
        "prompter",
        "Q?",
        [
            msg(
                "a1",
                "assistant",
                "A1.",
                [
                    msg(
                        "u-best",
                        "prompter",
                        "Go on",
                        [msg("a2", "assistant", "A2.", rank=1), msg("a3", "assistant", "A3.", rank=0)],
                        rank=0,
                    ),
                    msg("u-next", "prompter", "Unanswered", rank=1),
                ],
            )
        ],
    )
    (main,), rejects = load(write_trees(tmp_path / "t.jsonl", prompt), mode="main")
    assert rejects == [] and main.id == "oasst1-a3"
    assert [m.content for m in main.messages] == ["Q?", "A1.", "Go on", "A3."]


def test_a_tree_with_no_assistant_leaf_is_rejected_by_all_only(tmp_path: Path) -> None:
    prompt = msg("p", "prompter", "Q?", [msg("a1", "assistant", "A1.", [msg("u1", "prompter", "Thanks!")])])
    source = write_trees(tmp_path / "t.jsonl", prompt)
    conversations, rejects = load(source, mode="all")
    assert conversations == [] and [r.record_id for r in rejects] == ["p"]
    assert rejects[0].reason == "no thread left: every path ends on a prompt nobody answered (mode 'all')"
    for mode in ("all_trimmed", "main"):
        conversations, rejects = load(source, mode=mode)
        assert rejects == [] and [c.id for c in conversations] == ["oasst1-a1"]


def test_deleted_answers_leave_an_unanswered_prompt(tmp_path: Path) -> None:
    """A prompt whose only answers are deleted (or spam, or failed review) is a prompt nobody answered."""
    prompt = msg(
        "p",
        "prompter",
        "Q?",
        [msg("a1", "assistant", "A1.", [msg("u1", "prompter", "More?", [msg("a2", "assistant", "x", deleted=True)])])],
    )
    source = write_trees(tmp_path / "t.jsonl", prompt)
    assert load(source, mode="all")[0] == []
    assert [c.id for c in load(source, mode="all_trimmed")[0]] == ["oasst1-a1"]
    assert [c.id for c in load(source, mode="main")[0]] == ["oasst1-a1"]
