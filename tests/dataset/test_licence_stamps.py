"""Licence stamps: every record a builder writes carries source, license and a boolean commercial; a stamp
can be lowered by a later stage but never raised; the build card and --commercial follow the records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kit.dataset_cli import recipe_file, run
from kit.qa_builder import qa_rows, register_qa, write_rows

from ru_llm.core.jsonl import read_jsonl
from ru_llm.dataset.registry import get_dataset_builder

DATA = Path(__file__).resolve().parent.parent / "data"
SAIGA = DATA / "datasets" / "saiga"


def _lines(path: Path) -> list[dict[str, Any]]:
    return list(read_jsonl(path))


def _load(tmp_path: Path, name: str, source: Path, *options: str) -> list[dict[str, Any]]:
    out = tmp_path / f"{name}.jsonl"
    args = [arg for option in options for arg in ("--option", option)]
    result = run("dataset", "load", name, "--source", source, "--out", out, *args)
    assert result.exit_code == 0, result.output
    return _lines(out)


@pytest.mark.parametrize(
    ("name", "source", "stamp"),
    [
        ("ru_turbo_alpaca", SAIGA / "ru_turbo_alpaca.jsonl", ("ru_turbo_alpaca", "CC-BY-4.0", False)),
        ("ru_turbo_saiga", SAIGA / "ru_turbo_saiga.jsonl", ("ru_turbo_saiga", "CC-BY-4.0", False)),
        ("gpt_roleplay_realm", SAIGA / "gpt_roleplay_realm.jsonl", ("gpt_roleplay_realm", "CC-BY-4.0", False)),
        ("dolly", DATA / "datasets" / "dolly.jsonl", ("dolly", "CC-BY-SA-3.0", True)),
        ("oasst1", DATA / "datasets" / "oasst" / "en_20_tree.jsonl", ("oasst1", "Apache-2.0", True)),
        (
            "ultrafeedback_binarized",
            DATA / "preference" / "ultrafeedback_binarized.jsonl",
            ("ultrafeedback_binarized", "MIT", False),
        ),
        ("oasst1_pairs", DATA / "datasets" / "oasst" / "en_20_tree.jsonl", ("oasst1", "Apache-2.0", True)),
    ],
)
def test_dataset_load_stamps_every_record(tmp_path: Path, name: str, source: Path, stamp: tuple) -> None:
    records = _load(tmp_path, name, source)
    assert records
    assert {(r["source"], r["license"], r["commercial"]) for r in records} == {stamp}


def test_the_source_option_stamps_what_the_user_declares(tmp_path: Path) -> None:
    cleared = _load(tmp_path, "ultrafeedback_binarized", DATA / "preference" / "ultrafeedback_binarized.jsonl",
                    "commercial=true")  # fmt: skip
    assert {r["commercial"] for r in cleared} == {True}
    own = _load(tmp_path, "file", DATA / "datasets" / "file" / "alpaca.jsonl", "license=CC0-1.0", "commercial=true")
    assert {(r["source"], r["license"], r["commercial"]) for r in own} == {("file", "CC0-1.0", True)}
    undeclared = _load(tmp_path, "file", DATA / "datasets" / "file" / "alpaca.jsonl")
    assert {(r["license"], r["commercial"]) for r in undeclared} == {("unknown", False)}


def test_a_plugin_builder_that_sets_no_stamp_is_stamped_by_load(plugin_manager, tmp_path: Path) -> None:
    register_qa(plugin_manager)  # its converter sets source and license, never commercial
    rows = write_rows(tmp_path / "qa.jsonl", qa_rows(3))
    for name, stamp in (("qa", True), ("qa_nc", False)):
        records = list(get_dataset_builder(name).load(rows, on_reject=lambda r: pytest.fail(r.reason)))
        assert [c.commercial for c in records] == [stamp] * 3


def test_a_stamp_is_lowered_never_raised(tmp_path: Path) -> None:
    """A file `dataset load ru_turbo_alpaca` wrote, declared cleared in a recipe, stays not cleared."""
    alpaca = tmp_path / "alpaca.jsonl"
    loaded = run("dataset", "load", "ru_turbo_alpaca", "--source", SAIGA / "ru_turbo_alpaca.jsonl", "--out", alpaca)
    assert loaded.exit_code == 0, loaded.output
    n = len(_lines(alpaca))
    options = {"license": "CC-BY-4.0", "commercial": True}
    recipe = recipe_file(tmp_path, sources=[{"file": str(alpaca), "options": options}], validation=0)

    refused = run("dataset", "build", recipe, "--out", tmp_path / "out", "--commercial")
    assert refused.exit_code == 1 and not (tmp_path / "out").exists()
    assert f"not cleared for commercial use: alpaca (CC-BY-4.0; {n} records stamped commercial: false)" in (
        refused.stderr
    )
    built = run("dataset", "build", recipe, "--out", tmp_path / "out")
    assert built.exit_code == 0, built.output
    assert {r["commercial"] for r in _lines(tmp_path / "out" / "train.jsonl")} == {False}
    card = (tmp_path / "out" / "README.md").read_text("utf-8")
    assert "**Not cleared for commercial use** because of: alpaca" in card
    assert f"| no ({n} of {n} records stamped false) |" in card
    assert json.loads((tmp_path / "out" / "stats.json").read_text("utf-8"))["commercial"] is False

    # and a record stamped cleared in a file nobody declared is not cleared either: the source says unknown
    dolly = tmp_path / "dolly.jsonl"
    assert run("dataset", "load", "dolly", "--source", DATA / "datasets" / "dolly.jsonl", "--out", dolly).exit_code == 0
    again = recipe_file(tmp_path, sources=[{"file": str(dolly)}], validation=0)
    assert run("dataset", "build", again, "--out", tmp_path / "undeclared").exit_code == 0
    assert {r["commercial"] for r in _lines(tmp_path / "undeclared" / "train.jsonl")} == {False}


def test_a_build_of_cleared_sources_stamps_and_says_so(tmp_path: Path) -> None:
    recipe = recipe_file(tmp_path, sources=[{"builder": "dolly", "source": str(DATA / "datasets" / "dolly.jsonl")}])
    result = run("dataset", "build", recipe, "--out", tmp_path / "out", "--commercial")
    assert result.exit_code == 0, result.output
    records = _lines(tmp_path / "out" / "train.jsonl") + _lines(tmp_path / "out" / "validation.jsonl")
    assert records and {(r["source"], r["commercial"]) for r in records} == {("dolly", True)}
    assert "All sources are cleared for commercial use." in (tmp_path / "out" / "README.md").read_text("utf-8")
    stats = json.loads(run("dataset", "stats", tmp_path / "out" / "train.jsonl", "--json").stdout)
    assert stats["commercial"] == {"true": stats["conversations"]}
