"""`ru-llm dataset list|load|build|stats` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kit.qa_builder import qa_rows, register_qa, write_rows
from typer.testing import CliRunner

from ru_llm.cli.app import build_app
from ru_llm.core import read_conversations, read_jsonl


@pytest.fixture(autouse=True)
def qa_plugin(plugin_manager):
    register_qa(plugin_manager)


def run(*args: str):
    return CliRunner().invoke(build_app(), [str(a) for a in args], env={"COLUMNS": "200"})


def test_list_shows_licence_and_commercial_columns() -> None:
    result = run("dataset", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["qa"]["commercial"] is True and rows["qa_nc"]["license"] == "CC-BY-NC-4.0"
    table = run("dataset", "list")
    assert "qa_nc" in table.stdout and "CC-BY-NC-4.0" in table.stdout


def test_load_writes_conversations_and_rejects(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", [*qa_rows(5), "{broken", {"q": "только вопрос"}])
    out = tmp_path / "qa_conv.jsonl"
    result = run("dataset", "load", "qa", "--source", tmp_path / "qa.jsonl", "--out", out, "--option", "lang=en")
    assert result.exit_code == 0, result.output
    assert "7 rows in, 5 conversations out, 2 rejected" in result.stderr
    warning = next(line for line in result.stderr.splitlines() if line.startswith("warning:"))
    assert warning.startswith("warning: 2 of 7 rows (29%) were not used; most often ")
    assert [c.lang for c in read_conversations(out)] == ["ru"] * 5  # rows carry their own lang
    rejects = list(read_jsonl(tmp_path / "qa_conv.rejects.jsonl"))
    assert len(rejects) == 2 and rejects[0]["line"] == 6


def test_load_limit_and_bad_option(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(10))
    out = tmp_path / "o.jsonl"
    assert run("dataset", "load", "qa", "--source", tmp_path / "qa.jsonl", "--out", out, "--limit", "3").exit_code == 0
    assert len(list(read_conversations(out))) == 3
    bad = run("dataset", "load", "qa", "--source", tmp_path / "qa.jsonl", "--out", out, "--option", "colour=red")
    assert bad.exit_code == 1 and "has no option 'colour'" in bad.stderr
    missing = run("dataset", "load", "qa", "--source", tmp_path / "nope.jsonl", "--out", out)
    assert missing.exit_code == 1 and "nope.jsonl: no such file or directory" in missing.stderr


def test_build_prints_the_balance_and_exports_parquet(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", [*qa_rows(30), "{broken"])
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"sources": [{"builder": "qa", "source": "qa.jsonl"}], "validation": 0.2}))
    out = tmp_path / "out"
    result = run("dataset", "build", recipe, "--out", out, "--parquet")
    assert result.exit_code == 0, result.output
    assert "records in 31 = kept 30 + rejected 1" in result.stderr
    import pyarrow.parquet as pq

    assert pq.read_table(out / "train.parquet").num_rows == len(list(read_conversations(out / "train.jsonl")))
    again = run("dataset", "build", recipe, "--out", out)
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_build_refuses_an_out_that_holds_the_recipe_even_with_overwrite(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(3))
    folder = tmp_path / "project"
    folder.mkdir()
    recipe = folder / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"sources": [{"builder": "qa", "source": str(tmp_path / "qa.jsonl")}]}))
    (folder / "notes.txt").write_text("mine")
    before = sorted((p.name, p.read_bytes()) for p in folder.iterdir())
    for marked in (False, True):  # even a folder that looks like an earlier output keeps the recipe
        if marked:
            (folder / ".ru-llm-output").write_text("{}")
            before = sorted((p.name, p.read_bytes()) for p in folder.iterdir())
        result = run("dataset", "build", recipe, "--out", folder, "--overwrite")
        assert result.exit_code == 1 and "Traceback" not in result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "holds an input" in lines[0], result.stderr
        assert sorted((p.name, p.read_bytes()) for p in folder.iterdir()) == before
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".project")] == []  # no work dir left


def test_build_commercial_flag_refuses(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(3))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"sources": [{"builder": "qa_nc", "source": "qa.jsonl"}]}))
    result = run("dataset", "build", recipe, "--out", tmp_path / "out", "--commercial")
    assert result.exit_code == 1
    assert "not cleared for commercial use: qa_nc (CC-BY-NC-4.0)" in result.stderr
    assert not (tmp_path / "out").exists()


def test_push_to_hub_needs_a_token_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(3))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"sources": [{"builder": "qa", "source": "qa.jsonl"}]}))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    result = run("dataset", "build", recipe, "--out", tmp_path / "out", "--push-to-hub", "me/data")
    assert result.exit_code == 1 and "set HF_TOKEN" in result.stderr


def test_stats(tmp_path: Path) -> None:
    from ru_llm.core import conversation, write_jsonl

    convs = [conversation(f"c{i}", [("system", "Будь краток."), ("user", "Привет"), ("assistant", "Здравствуйте")],
                          source="qa", lang="ru", license="CC0-1.0") for i in range(4)]  # fmt: skip
    path = tmp_path / "c.jsonl"
    write_jsonl(path, convs)
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"id": "bad", "messages": []}\n')
    result = run("dataset", "stats", path, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["conversations"] == 4 and data["invalid"] == 1 and data["with_system"] == 4
    assert data["languages"] == {"ru": 4} and data["assistant_chars_mean"] == len("Здравствуйте")
    assert "conversations" in run("dataset", "stats", path).stdout


def test_render_rejects_a_negative_limit(tmp_path: Path) -> None:
    from ru_llm.core import conversation, write_jsonl

    path = tmp_path / "c.jsonl"
    write_jsonl(path, [conversation("c1", [("user", "Привет"), ("assistant", "Здравствуйте")])])
    result = run("dataset", "render", path, "--template", "saiga", "--limit", "-1")
    assert result.exit_code == 1 and "--limit must be 0 (all) or more" in result.stderr
    shown = run("dataset", "render", path, "--template", "saiga")
    assert shown.exit_code == 0 and "Здравствуйте" in shown.stdout


def test_build_can_save_to_disk_for_datasets(tmp_path: Path) -> None:
    import datasets

    write_rows(tmp_path / "qa.jsonl", qa_rows(12))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"sources": [{"builder": "qa", "source": "qa.jsonl"}], "validation": 0.3}))
    result = run("dataset", "build", recipe, "--out", tmp_path / "out", "--save-to-disk", tmp_path / "disk")
    assert result.exit_code == 0, result.output
    saved = datasets.load_from_disk(str(tmp_path / "disk"))
    assert saved["train"].num_rows + saved["validation"].num_rows == 12
    assert saved["train"][0]["messages"][0]["role"] == "user"


@pytest.mark.parametrize(
    ("pair", "message"), [("colour", "expected KEY=VALUE"), ("context=[before", "the value is not valid YAML")]
)
def test_bad_option_pairs_are_one_line_errors(tmp_path: Path, pair: str, message: str) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(2))
    result = run("dataset", "load", "qa", "--source", tmp_path / "qa.jsonl", "--out", tmp_path / "o.jsonl",
                 "--option", pair)  # fmt: skip
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.output


def test_build_summary_reconciles_per_source_uses_the_rejects_wording_and_warns(tmp_path: Path) -> None:
    write_rows(tmp_path / "a.jsonl", [*qa_rows(20, "a"), "{broken", "{broken too"])
    write_rows(tmp_path / "b.jsonl", qa_rows(40, "b"))
    recipe = tmp_path / "recipe.yaml"
    thinned = {"builder": "qa", "source": "b.jsonl", "name": "b", "weight": 0.2}
    sources = [{"builder": "qa", "source": "a.jsonl"}, thinned]
    recipe.write_text(yaml.safe_dump({"sources": sources}))
    result = run("dataset", "build", recipe, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    rejects = list(read_jsonl(tmp_path / "out" / "rejects.jsonl"))
    wording = {r["reason"] for r in rejects}
    for reason in wording:  # the summary speaks the rejects file's words, not internal keys
        assert f": {reason}" in result.stderr
    assert "rejected 2: invalid record" not in result.stderr and ": weight\n" not in result.stderr
    table = [line for line in result.stderr.splitlines() if line.startswith("│")]
    per_source_in = [int(line.split("│")[3]) for line in table]
    assert per_source_in == [22, 40]
    assert f"records in {sum(per_source_in)} = " in result.stderr
    warning = next(line for line in result.stderr.splitlines() if line.startswith("warning:"))
    assert "were not used; most often sampled out by weight 0.2" in warning
    assert "the source's weight in the recipe" in warning and "rejects.jsonl" in warning
