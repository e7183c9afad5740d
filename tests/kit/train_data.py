"""Small real conversations for the train tests and benchmarks (Dolly-format rows, OASST threads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data"


def dolly_conversations(n: int | None = None) -> list[dict[str, Any]]:
    """The bundled Dolly-format rows as conversations in our schema (real text)."""
    rows = [
        json.loads(line)
        for line in (DATA / "datasets" / "dolly.jsonl").read_text(encoding="utf-8").split("\n")
        if line.strip()
    ]
    convs = []
    for i, row in enumerate(rows[:n]):
        prompt = row["instruction"] + (f"\n\n{row['context']}" if row.get("context") else "")
        convs.append(
            {
                "id": f"dolly-{i}",
                "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": row["response"]}],
                "source": "dolly",
                "license": "CC-BY-SA-3.0",
            }
        )
    return convs


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def oasst_conversations() -> list[Any]:
    """Threads of the 20 bundled English OASST trees (real lengths: 1 to 6 turns)."""
    from ru_llm.dataset.registry import get_dataset_builder

    rejected: list[Any] = []
    builder = get_dataset_builder("oasst1")
    return list(builder.load(DATA / "datasets" / "oasst" / "en_20_tree.jsonl", on_reject=rejected.append))


def one_line_error(result: Any) -> str:
    """The single stderr line of a user error (asserting there is exactly one and no traceback)."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.split("\n") if line.strip()]
    assert lines and lines[-1].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[-1]


def oasst_preference_pairs(n: int | None = None) -> list[dict[str, Any]]:
    """Real preference pairs from the bundled OASST trees: at each user turn with ranked replies, the
    best-ranked reply is ``chosen`` and the worst ``rejected`` (how OASST-based preference sets are made)."""
    pairs: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], path: list[dict[str, str]]) -> None:
        role = "user" if node["role"] == "prompter" else "assistant"
        here = [*path, {"role": role, "content": node["text"]}]
        ranked = sorted((r for r in node.get("replies", []) if r.get("rank") is not None), key=lambda r: r["rank"])
        if role == "user" and len(ranked) >= 2 and ranked[0]["text"] != ranked[-1]["text"]:
            pairs.append(
                {
                    "id": f"oasst-{node['message_id']}",
                    "messages": here,
                    "chosen": ranked[0]["text"],
                    "rejected": ranked[-1]["text"],
                    "source": "oasst1",
                    "license": "Apache-2.0",
                }
            )
        for reply in node.get("replies", []):
            walk(reply, here)

    for line in (DATA / "datasets" / "oasst" / "en_20_tree.jsonl").read_text(encoding="utf-8").split("\n"):
        if line.strip():
            walk(json.loads(line)["prompt"], [])
    return pairs[:n]
