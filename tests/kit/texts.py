"""Held-out test texts shared by the tokenizer tests (all from tests/data; see tests/data/NOTICE.md)."""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


def english_texts() -> list[str]:
    """English prose, instructions, code, tables and URLs: self-instruct seed tasks and OASST1 messages."""
    texts = []
    for line in (DATA / "instructions" / "en" / "self_instruct_seed_tasks.jsonl").open(encoding="utf-8"):
        task = json.loads(line)
        texts.append(task["instruction"] + "\n" + "\n".join(i["input"] + i["output"] for i in task["instances"]))
    for line in (DATA / "translate" / "oasst_en_messages.jsonl").open(encoding="utf-8"):
        texts.append(json.loads(line)["text"])
    return texts
