"""One conversation validator: `dataset load`, `dataset build`, `dataset stats` and the readers give each
malformed record the same verdict and the same reason, and records in = kept + rejected at every stage.
(Training's side of the same check is tests/train/test_one_validator.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kit.dataset_cli import recipe_file, run
from kit.malformed import CONVERSATION_REASONS, PAIR_REASONS, reasons_by_line, write_malformed

from ru_llm.core.jsonl import Reject, read_jsonl
from ru_llm.core.validate import read_checked_conversations
from ru_llm.dataset.preference import read_preferences

KINDS = {
    "conversation": ("file", CONVERSATION_REASONS),
    "preference": ("preference", PAIR_REASONS),
}


def _lines(path: Path) -> list[dict[str, Any]]:
    return list(read_jsonl(path))


def _read(path: Path, kind: str) -> tuple[list[str], dict[int, str]]:
    rejects: list[Reject] = []
    if kind == "conversation":
        records = list(read_checked_conversations(path, strict=False, on_reject=rejects.append))
    else:
        records = list(read_preferences(path, on_reject=rejects.append))
    return [r.id for r in records], reasons_by_line(rejects)


@pytest.mark.parametrize("kind", list(KINDS))
def test_load_build_and_the_reader_give_each_record_one_verdict(kind: str, tmp_path: Path) -> None:
    builder, expected = KINDS[kind]
    data = write_malformed(tmp_path / "data.jsonl", kind)
    total = len(data.read_text("utf-8").splitlines())

    kept, read_reasons = _read(data, kind)  # what training's reader keeps and rejects
    assert read_reasons == expected and kept == ["ok-1", "ok-2"]

    out = tmp_path / "loaded.jsonl"
    loaded = run("dataset", "load", builder, "--source", data, "--out", out)
    assert loaded.exit_code == 0, loaded.output
    assert reasons_by_line(_lines(tmp_path / "loaded.rejects.jsonl")) == expected
    assert [r["id"] for r in _lines(out)] == kept
    assert f"{total} rows in, 2 " in loaded.stderr and f"{len(expected)} rejected" in loaded.stderr

    recipe = recipe_file(tmp_path, sources=[{"builder": builder, "source": str(data)}], validation=0)
    built = run("dataset", "build", recipe, "--out", tmp_path / "built")
    assert built.exit_code == 0, built.output
    assert reasons_by_line(_lines(tmp_path / "built" / "rejects.jsonl")) == expected
    assert sorted(r["id"] for r in _lines(tmp_path / "built" / "train.jsonl")) == kept
    stats = json.loads((tmp_path / "built" / "stats.json").read_text("utf-8"))
    assert stats["records_in"] == total == stats["kept"] + stats["rejected"]

    # the records `dataset load` wrote are read back with no further reject: one verdict, once
    assert _read(out, kind) == (kept, {})
    described = json.loads(run("dataset", "stats", data, "--json").stdout)
    assert described["invalid_reasons"] == {reason: 1 for reason in expected.values()}


def test_a_record_in_the_common_schema_is_checked_not_repaired_while_other_layouts_are(tmp_path: Path) -> None:
    turns = [{"role": "user", "content": "Часть один."}, {"role": "user", "content": "Часть два."},
             {"role": "assistant", "content": "Ответ."}, {"role": "user", "content": "А ещё?"}]  # fmt: skip
    data = tmp_path / "mixed.jsonl"
    records = [{"id": "ours", "messages": turns}, {"messages": turns}, {"conversations": [
        {"from": "human", "value": t["content"]} if t["role"] == "user" else {"from": "gpt", "value": t["content"]}
        for t in turns
    ]}]  # fmt: skip
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    out = tmp_path / "out.jsonl"
    assert run("dataset", "load", "file", "--source", data, "--out", out).exit_code == 0
    repaired = _lines(out)
    # an OpenAI export without our id and a ShareGPT record are converted: merged, trailing question trimmed
    assert [r["id"] for r in repaired] == ["file-00001", "file-00002"]
    assert all(r["meta"]["merged_turns"] == 1 and r["meta"]["trimmed_trailing_user"] == 1 for r in repaired)
    assert repaired[0]["messages"][0]["content"] == "Часть один.\n\nЧасть два."
    # a record written in our schema gets training's verdict
    assert [(r["id"], r["reason"]) for r in _lines(tmp_path / "out.rejects.jsonl")] == [
        ("ours", "two user turns in a row (messages 0 and 1)")
    ]
