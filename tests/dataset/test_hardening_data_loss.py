"""Issue 13 (hardening): `dataset load|build|render` lose, splice or leak no record.

* text with U+2028, U+2029 or U+0085 survives the shuffle buffer (``str.splitlines`` spliced records);
* a line nested 1,000 levels deep is one reject, not a ``RecursionError`` that ends the run;
* a lone surrogate is rejected on read instead of breaking rendering, tokenizing and export later;
* a source ``weight`` below 1 rejects what it samples out, with the reason, and the counts reconcile;
* related conversations (the threads of one OASST tree, a translation and its original) share a split.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kit.qa_builder import qa_rows, register_qa, write_rows
from typer.testing import CliRunner

from ru_llm.cli.app import build_app
from ru_llm.core import conversation, read_conversations, read_jsonl, write_jsonl
from ru_llm.dataset.build import build_dataset
from ru_llm.dataset.order import ShuffleBuffer, split_key
from ru_llm.dataset.recipe import parse_recipe

OASST_TREES = Path(__file__).resolve().parents[1] / "data" / "datasets" / "oasst" / "en_20_tree.jsonl"
DEEP = '{"id":"deep","messages":' + "[" * 1000 + "]" * 1000 + "}"
LONE = '{"id":"lone","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a\\ud800b"}]}'


@pytest.fixture(autouse=True)
def qa_plugin(plugin_manager):
    register_qa(plugin_manager)


def run(*args: object):
    return CliRunner().invoke(build_app(), [str(a) for a in args], env={"COLUMNS": "200"})


def build(tmp_path: Path, name: str = "out", **recipe):
    out = tmp_path / name
    return build_dataset(parse_recipe(recipe), out), out


def chat(i: str, reply: str, **fields):
    return conversation(i, [("user", f"Вопрос {i}?"), ("assistant", reply)], lang="ru", **fields)


def written(out: Path) -> dict[str, str]:
    """id -> split of every written conversation."""
    return {c.id: split for split in ("train", "validation") for c in read_conversations(out / f"{split}.jsonl")}


def raw_lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().split(b"\n") if line]


def assert_balanced(report, out: Path) -> None:
    """records in = kept + rejected, in the report, stats.json, the card and rejects.jsonl."""
    rejects = raw_lines(out / "rejects.jsonl")
    assert report.records_in == report.kept + report.rejected
    assert report.rejected == len(rejects)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["records_in"] == stats["kept"] + stats["rejected"] == report.records_in
    card = (out / "README.md").read_text().replace("\n", " ")
    assert f"Records in: {report.records_in} = kept {report.kept} + rejected {report.rejected}" in card


# -- 1: line separators inside text --------------------------------------------------------------------
SEPARATORS = ["x\u2028y", "x\u2029y", "x\u0085y", "a\u2028b\u2029c\u0085d\x1ce"]


def test_line_separators_in_text_survive_a_shuffled_build(tmp_path: Path) -> None:
    convs = [chat(f"s{i}", reply) for i, reply in enumerate(SEPARATORS)] + [
        chat(f"p{i}", "Обычный ответ.") for i in range(20)
    ]
    write_jsonl(tmp_path / "c.jsonl", convs)
    report, out = build(tmp_path, sources=[{"file": str(tmp_path / "c.jsonl")}], validation=0.2, seed=3)
    assert report.kept == len(convs) and report.rejected == 0
    lines = raw_lines(out / "train.jsonl") + raw_lines(out / "validation.jsonl")
    assert len(lines) == len(convs), "one line per conversation: nothing spliced or split"
    got = {c.id: c.messages[1].content for split in ("train", "validation")
           for c in read_conversations(out / f"{split}.jsonl")}  # fmt: skip
    assert got == {c.id: c.messages[1].content for c in convs}


def test_shuffle_buffer_splits_only_at_newline(tmp_path: Path) -> None:
    buffer = ShuffleBuffer(tmp_path, buckets=2)
    lines = ['{"t":"x\u2028y"}\n', '{"t":"x\u2029y"}\n', '{"t":"\u0085"}\n', '{"t":"plain"}\n']
    for key, line in zip((3, 1, 2**63 + 5, 2**63 + 1), lines, strict=True):
        buffer.add(key, line)
    assert list(buffer) == [lines[1], lines[0], lines[3], lines[2]]
    assert not any(tmp_path.iterdir()), "the bucket files are removed"


# -- 2 and 3: deep nesting and lone surrogates are one reject each --------------------------------------
def source_with_bad_lines(tmp_path: Path) -> Path:
    path = tmp_path / "bad.jsonl"
    good = [json.dumps(chat(f"g{i}", f"Ответ {i}.").to_dict(), ensure_ascii=False) for i in range(5)]
    path.write_text("\n".join([good[0], DEEP, good[1], LONE, *good[2:]]) + "\n", encoding="utf-8")
    return path


def test_build_rejects_a_deep_line_and_a_lone_surrogate_and_goes_on(tmp_path: Path) -> None:
    src = source_with_bad_lines(tmp_path)
    report, out = build(tmp_path, sources=[{"file": str(src)}], validation=0.3)
    assert sorted(written(out)) == [f"g{i}" for i in range(5)]
    reasons = {r["id"]: (r["reason"], r["line"]) for r in read_jsonl(out / "rejects.jsonl")}
    assert reasons == {
        "deep": ("nested more than 200 levels deep", 2),
        "lone": ("lone surrogate U+D800 in messages[1].content: an unpaired \\ud800 escape is not Unicode text", 4),
    }
    assert report.records_in == 7
    assert_balanced(report, out)


@pytest.mark.parametrize("shape", ["jsonl", "json"])
def test_load_rejects_a_deep_record_and_a_lone_surrogate_and_goes_on(tmp_path: Path, shape: str) -> None:
    src = source_with_bad_lines(tmp_path)
    if shape == "json":  # a JSON array: the same checks, record by record
        records = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line != DEEP]
        src = tmp_path / "bad.json"
        src.write_text(json.dumps(records), encoding="utf-8")
    out = tmp_path / "loaded.jsonl"
    result = run("dataset", "load", "file", "--source", src, "--out", out)
    assert result.exit_code == 0, result.output
    rows = 7 if shape == "jsonl" else 6
    assert f"{rows} rows in, 5 conversations out, {rows - 5} rejected" in result.stderr
    assert [c.id for c in read_conversations(out)] == [f"g{i}" for i in range(5)]
    rejects = list(read_jsonl(tmp_path / "loaded.rejects.jsonl"))  # readable by our own strict reader
    assert {r["id"] for r in rejects} == ({"deep", "lone"} if shape == "jsonl" else {"lone"})
    assert all(isinstance(r["record"], str) for r in rejects), "kept as JSON text, valid UTF-8"


def test_render_names_the_line_of_a_lone_surrogate_instead_of_crashing(tmp_path: Path) -> None:
    src = tmp_path / "c.jsonl"
    src.write_text(json.dumps(chat("g0", "Ответ.").to_dict()) + "\n" + LONE + "\n", encoding="utf-8")
    result = run("dataset", "render", src, "--template", "chatml", "--limit", "0")
    assert result.exit_code == 1, result.output
    assert "c.jsonl:2: record 'lone': lone surrogate U+D800" in result.stderr
    assert "Traceback" not in result.output


# -- 5: weights below 1 --------------------------------------------------------------------------------
def test_weight_below_one_rejects_what_it_samples_out(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(200))
    report, out = build(tmp_path, validation=0.2, sources=[{"builder": "qa", "source": str(tmp_path / "qa.jsonl"),
                                                            "weight": 0.5}])  # fmt: skip
    kept = written(out)
    rejects = list(read_jsonl(out / "rejects.jsonl"))
    assert 60 < len(kept) < 140
    assert {r["reason"] for r in rejects} == {"sampled out by weight 0.5"}
    rejected = [r["id"] for r in rejects]
    assert sorted([*kept, *rejected]) == sorted(f"q{i}" for i in range(200)), "each record written or rejected, once"
    assert report.kept == len(kept) and report.sources[0].rejected == {"weight": len(rejects)}
    assert_balanced(report, out)


def test_weight_above_one_with_a_fraction_drops_nothing(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(50))
    report, out = build(tmp_path, sources=[{"builder": "qa", "source": str(tmp_path / "qa.jsonl"), "weight": 1.5}])
    assert report.kept == 50 and report.rejected == 0
    assert 50 < report.train + report.validation < 100
    assert_balanced(report, out)


def test_a_sampled_out_conversation_does_not_make_a_later_one_a_duplicate(tmp_path: Path) -> None:
    texts = [f"Ответ номер {i} про что-то своё." for i in range(40)]
    write_rows(tmp_path / "a.jsonl", [{"id": f"a{i}", "q": "Вопрос?", "a": t} for i, t in enumerate(texts)])
    write_rows(tmp_path / "b.jsonl", [{"id": f"b{i}", "q": "Вопрос?", "a": t} for i, t in enumerate(texts)])
    report, out = build(tmp_path, sources=[
        {"builder": "qa", "source": str(tmp_path / "a.jsonl"), "name": "a", "weight": 0.5},
        {"builder": "qa", "source": str(tmp_path / "b.jsonl"), "name": "b"}])  # fmt: skip
    kept = written(out)
    for i in range(40):
        assert (f"a{i}" in kept) != (f"b{i}" in kept), "each text is written exactly once"
    assert report.kept == 40
    assert_balanced(report, out)


# -- 8: related conversations share a split --------------------------------------------------------------
def test_threads_of_one_oasst_tree_land_in_one_split(tmp_path: Path) -> None:
    report, out = build(tmp_path, validation=0.5, sources=[
        {"builder": "oasst1", "source": str(OASST_TREES), "options": {"mode": "all"}}])  # fmt: skip
    trees: dict[str, set[str]] = {}
    for split in ("train", "validation"):
        for conv in read_conversations(out / f"{split}.jsonl"):
            trees.setdefault(conv.meta["message_tree_id"], set()).add(split)
    assert report.train and report.validation
    assert sum(len(splits) > 1 for splits in trees.values()) == 0, "no tree straddles train and validation"
    assert any(len([c for c in read_conversations(out / "train.jsonl") if c.meta["message_tree_id"] == t]) > 1
               for t in trees), "the data has trees with several threads"  # fmt: skip


def test_a_translation_lands_in_the_split_of_its_original(tmp_path: Path) -> None:
    originals = [chat(f"e{i}", f"Answer {i}.") for i in range(60)]
    translations = [chat(f"e{i}-ru", f"Ответ {i}.", meta={"translation": {"backend": "fake", "source_id": f"e{i}"}})
                    for i in range(60)]  # fmt: skip
    write_jsonl(tmp_path / "en.jsonl", originals)
    write_jsonl(tmp_path / "ru.jsonl", translations)
    _report, out = build(tmp_path, validation=0.3, sources=[{"file": str(tmp_path / "en.jsonl")},
                                                            {"file": str(tmp_path / "ru.jsonl")}])  # fmt: skip
    splits = written(out)
    assert "validation" in splits.values() and "train" in splits.values()
    assert all(splits[f"e{i}"] == splits[f"e{i}-ru"] for i in range(60))


def test_split_key() -> None:
    assert split_key(chat("plain", "x")) == "plain"
    assert split_key(chat("e1-ru", "x", meta={"translation": {"source_id": "e1"}})) == "e1"
    oasst = {"message_tree_id": "t1", "thread": "all"}
    assert split_key(chat("oasst1-m9", "x", meta=oasst)) == "oasst-tree:t1"
    translated = {**oasst, "translation": {"source_id": "oasst1-m9"}}
    assert split_key(chat("oasst1-m9-ru", "x", meta=translated)) == "oasst-tree:t1", "the tree groups translations too"
    for junk in ({"translation": "x"}, {"translation": {"source_id": 5}}, {"message_tree_id": ""}):
        assert split_key(chat("own", "x", meta=junk)) == "own"
