"""Preference sets through the builders and `ru-llm dataset build|load|stats|render`.

The fixtures under tests/data/preference/ are synthetic, hand-written pairs (see tests/data/NOTICE.md).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from kit.dataset_cli import recipe_file, run
from kit.qa_builder import qa_rows, register_qa, write_rows

from ru_llm.core import ConfigError, RuLLMError, read_jsonl
from ru_llm.core.jsonl import Reject
from ru_llm.dataset import get_dataset_builder
from ru_llm.dataset.build import build_dataset
from ru_llm.dataset.builders import LoadStats
from ru_llm.dataset.preference import FIELDS, PreferencePair, is_carrier, prompt_key, read_preferences
from ru_llm.dataset.recipe import load_recipe

DATA = Path(__file__).resolve().parent.parent / "data" / "preference"
PAIRS = DATA / "pairs.jsonl"
ULTRAFEEDBACK = DATA / "ultrafeedback_binarized.jsonl"


@pytest.fixture(autouse=True)
def qa_plugin(plugin_manager):
    register_qa(plugin_manager)


def build(tmp_path: Path, **recipe: Any):
    out = tmp_path / "out"
    return build_dataset(load_recipe(recipe_file(tmp_path, **recipe)), out), out


def load(name: str, source: Path, **options: Any) -> tuple[list, list[Reject], LoadStats]:
    rejects: list[Reject] = []
    stats = LoadStats()
    records = list(get_dataset_builder(name).load(source, options, on_reject=rejects.append, stats=stats))
    return records, rejects, stats


def lines(path: Path) -> list[dict[str, Any]]:
    return list(read_jsonl(path))


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def synthetic_pairs(prompts: int, per_prompt: int) -> list[dict[str, Any]]:
    """``prompts`` Russian questions with ``per_prompt`` different pairs each."""
    return [
        {
            "id": f"q{p}-{k}",
            "messages": [user(f"Вопрос номер {p}: сколько будет {p} + {p}?")],
            "chosen": f"Ответ: {2 * p}." + " Проверьте сложением столбиком." * k,
            "rejected": f"Ответ: {2 * p + k + 1}.",
            "lang": "ru",
        }
        for p in range(prompts)
        for k in range(per_prompt)
    ]


# -- builders ---------------------------------------------------------------------------------------
def test_preference_builders_are_registered_with_their_declarations() -> None:
    uf = get_dataset_builder("ultrafeedback_binarized")
    assert get_dataset_builder("ultrafeedback") is uf and uf.produces == "preference"
    assert (uf.hub_id, uf.hub_split, uf.license, uf.commercial, uf.lang) == (
        "HuggingFaceH4/ultrafeedback_binarized", "train_prefs", "MIT", False, "en")  # fmt: skip
    generic = get_dataset_builder("preference")
    assert get_dataset_builder("trl_preference") is generic
    info = generic.info({"hub_id": "someone/prefs", "license": "Apache-2.0", "commercial": True, "lang": "ru"})
    assert info["hub_id"] == "someone/prefs" and info["commercial"] is True and info["produces"] == "preference"
    assert get_dataset_builder("dolly").info()["produces"] == "conversation"
    with pytest.raises(ConfigError, match="preference split"):
        uf.parse_options({"split": "train_sft"})


def test_ultrafeedback_rows_become_pairs(tmp_path: Path) -> None:
    records, rejects, stats = load("ultrafeedback_binarized", ULTRAFEEDBACK)
    pairs = [PreferencePair.from_conversation(c) for c in records]
    assert all(is_carrier(c) for c in records)
    assert [p.id for p in pairs] == ["0a1b2c3d", "1b2c3d4e", "3d4e5f60"]
    first = pairs[0]
    assert first.messages[0].content == "Write a haiku about autumn." and len(first.messages) == 1
    assert first.rejected == "Autumn is a season of the year."
    assert (first.source, first.license, first.lang) == ("ultrafeedback_binarized", "MIT", "en")
    assert first.meta["score_chosen"] == 8.5 and "messages" not in first.meta
    assert [(r.line, r.record_id, r.reason) for r in rejects] == [(3, "2c3d4e5f", "chosen and rejected are identical")]
    assert stats.rows == 4 == stats.conversations + stats.rejected


def test_generic_builder_reads_every_layout_of_a_local_file() -> None:
    records, rejects, stats = load("preference", PAIRS, license="CC0-1.0", lang="ru")
    assert rejects == [] and stats.rows == 12 == len(records)
    pairs = {p.id: p for p in map(PreferencePair.from_conversation, records)}
    assert pairs["ru-buckwheat-1"].source == "handmade"  # the record's own provenance wins
    trl = pairs["preference-00004"]  # no id: the builder's row id
    assert trl.license == "CC0-1.0" and trl.source == "preference" and trl.chosen == "17 × 3 = 51."
    assert [m.role for m in pairs["preference-00005"].messages] == ["system", "user"]
    assert len(pairs["preference-00006"].messages) == 3  # implicit prompt: the shared prefix
    assert pairs["en-capital"].chosen == "Canberra." and pairs["en-capital"].lang == "en"


def test_generic_builder_reads_the_hub_with_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    calls: list[tuple[tuple, dict]] = []
    rows = [{"prompt": "Hi", "chosen": "Hello! How can I help?", "rejected": "Go away."}]

    def fake(*args: Any, **kwargs: Any):
        calls.append((args, kwargs))
        return iter(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake)
    builder = get_dataset_builder("preference")
    (carrier,) = builder.load(options={"hub_id": "someone/prefs", "split": "test"}, on_reject=lambda r: None)
    assert calls[0][0] == ("someone/prefs", None) and calls[0][1]["split"] == "test"
    assert carrier.id == "preference-00000" and PreferencePair.from_conversation(carrier).chosen.startswith("Hello")
    list(get_dataset_builder("ultrafeedback").load(on_reject=lambda r: None))
    assert calls[1][0][0] == "HuggingFaceH4/ultrafeedback_binarized" and calls[1][1]["split"] == "train_prefs"
    with pytest.raises(RuLLMError, match="has no hub id"):
        list(builder.load(on_reject=lambda r: None))


def test_bad_pairs_are_rejects_with_reasons(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "bad.jsonl",
        [
            {"id": "ok", "messages": [user("Привет!")], "chosen": "Здравствуйте!", "rejected": "Чего надо?"},
            {"id": "no-chosen", "messages": [user("Привет!")], "rejected": "Чего надо?"},
            {
                "id": "ends-on-bot",
                "messages": [user("Привет!"), {"role": "assistant", "content": "Да?"}],
                "chosen": "Здравствуйте!",
                "rejected": "Чего надо?",
            },
            {"id": "empty", "messages": [user("Привет!")], "chosen": "  ", "rejected": "Чего надо?"},
            {"id": "same", "messages": [user("Привет!")], "chosen": "Здравствуйте!", "rejected": "Здравствуйте!"},
            "{broken",
        ],
    )
    records, rejects, stats = load("preference", path)
    assert [c.id for c in records] == ["ok"]
    assert [(r.line, r.record_id, r.reason) for r in rejects[:4]] == [
        (2, "no-chosen", "missing 'chosen'"),
        (3, "ends-on-bot", "prompt ends on an assistant turn"),
        (4, "empty", "'chosen' is empty"),
        (5, "same", "chosen and rejected are identical"),
    ]
    assert rejects[4].line == 6 and rejects[4].reason.startswith("invalid JSON")
    assert stats.rows == 6 == len(records) + len(rejects)


def test_file_builder_refuses_preference_records(tmp_path: Path) -> None:
    records, rejects, _ = load("file", PAIRS)
    assert records == [] and len(rejects) == 12
    assert rejects[0].reason == "a preference record (it has 'chosen'/'rejected'), not a conversation"


# -- dataset build ----------------------------------------------------------------------------------
def test_build_writes_pairs_in_the_common_schema_and_accounts_for_everything(tmp_path: Path) -> None:
    report, out = build(
        tmp_path,
        validation=0.3,
        sources=[
            {"builder": "preference", "source": str(PAIRS), "options": {"license": "CC0-1.0", "commercial": True}},
            {"builder": "ultrafeedback_binarized", "source": str(ULTRAFEEDBACK), "weight": 2},
        ],
    )
    assert report.kind == "preference"
    train, validation, rejects = (
        lines(out / "train.jsonl"),
        lines(out / "validation.jsonl"),
        lines(out / "rejects.jsonl"),
    )
    kept = train + validation
    assert all(tuple(r) == FIELDS and isinstance(r["chosen"], str) for r in kept)
    pairs = list(read_preferences(out / "train.jsonl")) + list(read_preferences(out / "validation.jsonl"))
    assert len(pairs) == len(kept) == report.train + report.validation
    assert all("preference" not in p.meta for p in pairs)
    # 12 + 4 in; one exact duplicate and one identical pair out; UltraFeedback's 3 pairs written twice
    assert report.records_in == 16 == report.kept + report.rejected == 14 + len(rejects)
    assert len(kept) == 11 + 3 * 2
    reasons = {r["reason"] for r in rejects}
    assert "duplicate: same text as ru-buckwheat-1" in reasons and "chosen and rejected are identical" in reasons
    duplicate = next(r for r in rejects if r["reason"].startswith("duplicate"))
    assert tuple(duplicate["record"]) == FIELDS  # rejects hold pairs in the same schema
    stats = json.loads((out / "stats.json").read_text())
    assert stats["kind"] == "preference" and stats["kept"] == 14
    card = (out / "README.md").read_text()
    assert "preference pairs" in card and "Pairs that share a prompt are always in the same split" in card
    assert "CC0-1.0" in card and "MIT" in card
    assert "**Not cleared for commercial use** because of: ultrafeedback_binarized" in card


def test_pairs_with_one_prompt_never_straddle_the_splits(tmp_path: Path) -> None:
    write_rows(tmp_path / "many.jsonl", synthetic_pairs(prompts=40, per_prompt=3))
    report, out = build(tmp_path, validation=0.3, sources=[{"builder": "preference", "source": "many.jsonl"}])
    splits: dict[str, set[str]] = defaultdict(set)
    for split in ("train", "validation"):
        for pair in read_preferences(out / f"{split}.jsonl"):
            splits[prompt_key(pair.messages)].add(split)
    assert len(splits) == 40 and all(len(s) == 1 for s in splits.values())
    assert report.validation > 0 and report.train > 0
    assert report.validation % 3 == 0  # whole prompt groups


def test_same_prompt_with_other_replies_is_not_a_duplicate_but_same_pair_is(tmp_path: Path) -> None:
    rows = synthetic_pairs(prompts=2, per_prompt=2)
    rows.append({**rows[0], "id": "again", "chosen": rows[0]["chosen"] + "  "})  # same text after strip
    write_rows(tmp_path / "p.jsonl", rows)
    report, _ = build(tmp_path, sources=[{"builder": "preference", "source": "p.jsonl"}])
    assert report.kept == 4 and report.reasons() == {"duplicate": 1}


def test_filters_apply_to_both_replies_and_the_prompt(tmp_path: Path) -> None:
    rows = synthetic_pairs(prompts=3, per_prompt=1)
    rows[1]["rejected"] = "Нет"
    rows[2]["lang"] = "en"
    write_rows(tmp_path / "p.jsonl", rows)
    report, _ = build(
        tmp_path,
        filters={"min_chars": 5, "languages": ["ru"], "max_turns": 1},
        sources=[{"builder": "preference", "source": "p.jsonl"}],
    )
    assert report.kept == 1
    assert report.reasons() == {
        "filter: an assistant reply is shorter than 5 characters": 1,
        "filter: language 'en' not in ['ru']": 1,
    }


def test_recipe_mixing_pairs_and_conversations_is_a_one_line_error(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(3))
    recipe = recipe_file(tmp_path, sources=[{"builder": "qa", "source": "qa.jsonl"},
                                            {"builder": "preference", "source": str(PAIRS)}])  # fmt: skip
    result = run("dataset", "build", recipe, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "the recipe mixes preference sources (preference) with conversation sources (qa)" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_commercial_refuses_ultrafeedback(tmp_path: Path) -> None:
    recipe = recipe_file(tmp_path, sources=[{"builder": "ultrafeedback_binarized", "source": str(ULTRAFEEDBACK)}])
    result = run("dataset", "build", recipe, "--out", tmp_path / "out", "--commercial")
    assert result.exit_code == 1
    assert "not cleared for commercial use: ultrafeedback_binarized (MIT)" in result.stderr
    cleared = recipe_file(tmp_path, sources=[{"builder": "ultrafeedback_binarized", "source": str(ULTRAFEEDBACK),
                                              "options": {"commercial": True}}])  # fmt: skip
    assert run("dataset", "build", cleared, "--out", tmp_path / "out", "--commercial").exit_code == 0


def test_nothing_left_is_a_one_line_error_with_the_rejects_kept(tmp_path: Path) -> None:
    write_rows(tmp_path / "bad.jsonl", [{"messages": [user("Привет")], "rejected": "Нет."}, {"prompt": "Hi"}])
    recipe = recipe_file(tmp_path, sources=[{"builder": "preference", "source": "bad.jsonl"}])
    result = run("dataset", "build", recipe, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "no preference pairs left: all 2 records were rejected (most often: invalid record)" in result.stderr
    assert "Traceback" not in result.output
    assert [r["reason"] for r in lines(tmp_path / "out" / "rejects.jsonl")] == ["missing 'chosen'"] * 2


def test_build_cli_exports_parquet_with_reply_columns(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    recipe = recipe_file(tmp_path, sources=[{"builder": "preference", "source": str(PAIRS)}])
    out = tmp_path / "out"
    result = run("dataset", "build", recipe, "--out", out, "--parquet")
    assert result.exit_code == 0, result.output
    assert "records in 12 = kept 11 + rejected 1" in result.stderr
    table = pq.read_table(out / "train.parquet")
    assert table.column_names == ["id", "messages", "chosen", "rejected", "source", "lang", "license", "commercial",
                                  "meta"]  # fmt: skip
    assert table.num_rows == 11 and table.column("commercial").to_pylist() == [False] * 11  # the builder's default


# -- load, stats, render ----------------------------------------------------------------------------
def test_load_writes_pairs(tmp_path: Path) -> None:
    out = tmp_path / "uf.jsonl"
    result = run("dataset", "load", "ultrafeedback", "--source", ULTRAFEEDBACK, "--out", out)
    assert result.exit_code == 0, result.output
    assert "4 rows in, 3 preference pairs out, 1 rejected" in result.stderr
    assert all(tuple(r) == FIELDS for r in lines(out))


def test_stats_on_a_preference_file(tmp_path: Path) -> None:
    result = run("dataset", "stats", PAIRS, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kind"] == "preference" and data["pairs"] == 12 and data["invalid"] == 0
    assert data["with_system"] == 1 and data["prompt_turns_max"] == 2
    assert data["chosen_chars_mean"] > data["rejected_chars_mean"]
    assert run("dataset", "stats", PAIRS).exit_code == 0


def test_render_shows_both_replies_or_the_prompt() -> None:
    result = run("dataset", "render", PAIRS, "--template", "chatml", "--limit", "1")
    assert result.exit_code == 0, result.output
    assert "ru-buckwheat-1 (chosen)" in result.stdout and "ru-buckwheat-1 (rejected)" in result.stdout
    assert "Гречку не варят" in result.stdout
    prompt = run("dataset", "render", PAIRS, "--template", "chatml", "--limit", "1", "--prompt")
    assert prompt.exit_code == 0 and "Гречку не варят" not in prompt.stdout
