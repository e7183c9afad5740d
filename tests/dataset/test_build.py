"""`ru-llm dataset build`: recipes, filters, dedup, caps, weights, split, shuffle, card, rejects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kit.qa_builder import qa_rows, register_qa, write_rows

from ru_llm.core import ConfigError, RuLLMError, read_conversations, read_jsonl
from ru_llm.dataset.build import build_dataset
from ru_llm.dataset.recipe import load_recipe, parse_recipe


@pytest.fixture(autouse=True)
def qa_plugin(plugin_manager):
    register_qa(plugin_manager)


def recipe_file(tmp_path: Path, **recipe) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True))
    return path


def build(tmp_path: Path, **recipe):
    out = tmp_path / "out"
    report = build_dataset(load_recipe(recipe_file(tmp_path, **recipe)), out)
    return report, out


def ids(path: Path) -> list[str]:
    return [c.id for c in read_conversations(path)]


# -- recipes ----------------------------------------------------------------------------------------
def test_recipe_unknown_keys_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"recipe.yaml: unknown key 'sourcez'"):
        load_recipe(recipe_file(tmp_path, sourcez=[]))
    with pytest.raises(ConfigError, match=r"sources\[0\]: unknown key 'optionz'"):
        load_recipe(recipe_file(tmp_path, sources=[{"builder": "qa", "optionz": {}}]))
    with pytest.raises(ConfigError, match="filters: unknown key 'min_char'"):
        parse_recipe({"sources": [{"builder": "qa"}], "filters": {"min_char": 3}})


@pytest.mark.parametrize(
    ("recipe", "message"),
    [
        ({}, "'sources' must be a non-empty list"),
        ({"sources": [{"source": "x"}]}, "needs 'builder'"),
        ({"sources": [{"builder": "qa", "max": -1}]}, "max: expected a non-negative integer"),
        ({"sources": [{"builder": "qa", "weight": 0}]}, "weight: expected a positive number"),
        ({"sources": [{"builder": "qa"}], "validation": 1.5}, "validation must be a share"),
        ({"sources": [{"builder": "qa"}, {"builder": "qa"}]}, "two sources are called 'qa'"),
    ],
)
def test_recipe_validation(recipe: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_recipe(recipe)


def test_recipe_paths_are_relative_to_the_recipe_and_file_is_shorthand(tmp_path: Path) -> None:
    recipe = load_recipe(recipe_file(tmp_path, sources=[{"file": "data/ru.jsonl"}, {"builder": "qa", "source": "q"}]))
    assert recipe.sources[0].builder == "file"
    assert recipe.sources[0].source == str(tmp_path / "data/ru.jsonl")
    assert recipe.sources[0].label == "ru"
    assert recipe.sources[1].source == str(tmp_path / "q")


def test_unknown_builder_and_bad_option_fail_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="unknown dataset builder 'qaa'; did you mean 'qa'"):
        build(tmp_path, sources=[{"builder": "qaa"}])
    with pytest.raises(ConfigError, match="has no option 'colour'"):
        build(tmp_path, sources=[{"builder": "qa", "options": {"colour": "red"}}])
    assert not (tmp_path / "out").exists()


# -- a build ----------------------------------------------------------------------------------------
def test_build_writes_splits_rejects_card_and_accounts_for_everything(tmp_path: Path) -> None:
    rows = [*qa_rows(40), "{not json", {"q": "нет ответа"}, {"id": "e1", "q": "Пусто?", "a": "   "}]
    write_rows(tmp_path / "qa.jsonl", rows)
    report, out = build(tmp_path, validation=0.2, sources=[{"builder": "qa", "source": "qa.jsonl"}])
    assert sorted(p.name for p in out.iterdir()) == [".ru-llm-output", "README.md", "rejects.jsonl", "stats.json",
                                                     "train.jsonl", "validation.jsonl"]  # fmt: skip
    train, validation = ids(out / "train.jsonl"), ids(out / "validation.jsonl")
    rejects = list(read_jsonl(out / "rejects.jsonl"))
    assert len(train) + len(validation) == report.kept == 40
    assert 0 < len(validation) < 20
    assert report.records_in == 43 == report.kept + report.rejected == 40 + len(rejects)
    reasons = {r["reason"] for r in rejects}
    assert "empty assistant message (message 1)" in reasons
    assert all(r["source"] == "qa" for r in rejects)
    card = (out / "README.md").read_text()
    assert "All sources are cleared for commercial use" in card and "CC0-1.0" in card
    assert "Records in: 43 = kept 40 + rejected 3" in card.replace("\n", " ")
    assert json.loads((out / "stats.json").read_text())["train"] == len(train)
    assert not list(tmp_path.glob(".out.*")), "no temporary build directory is left behind"


def test_build_is_deterministic_and_the_seed_shuffles(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(60))
    recipe = load_recipe(recipe_file(tmp_path, sources=[{"builder": "qa", "source": "qa.jsonl"}], validation=0.1))
    build_dataset(recipe, tmp_path / "a")
    build_dataset(recipe, tmp_path / "b")
    for name in ("train.jsonl", "validation.jsonl", "README.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = parse_recipe({"sources": [{"builder": "qa", "source": str(tmp_path / "qa.jsonl")}], "validation": 0.1,
                          "seed": 7})  # fmt: skip
    build_dataset(other, tmp_path / "c")
    a, c = ids(tmp_path / "a" / "train.jsonl"), ids(tmp_path / "c" / "train.jsonl")
    assert a != c and sorted(a) == sorted(c), "the seed changes the order, not the split"
    unshuffled = parse_recipe({"sources": [{"builder": "qa", "source": str(tmp_path / "qa.jsonl")}], "shuffle": False})
    build_dataset(unshuffled, tmp_path / "d")
    assert ids(tmp_path / "d" / "train.jsonl") == [f"q{i}" for i in range(60)]


def test_adding_a_source_does_not_move_records_between_splits(tmp_path: Path) -> None:
    write_rows(tmp_path / "a.jsonl", qa_rows(80, "a"))
    write_rows(tmp_path / "b.jsonl", qa_rows(80, "b"))
    _one, out1 = build(tmp_path, validation=0.25, sources=[{"builder": "qa", "source": "a.jsonl"}])
    validation = set(ids(out1 / "validation.jsonl"))
    two = build_dataset(load_recipe(recipe_file(tmp_path, validation=0.25, sources=[
        {"builder": "qa", "source": "a.jsonl"}, {"builder": "qa", "source": "b.jsonl", "name": "b"}])),
        tmp_path / "out2")  # fmt: skip
    assert validation <= set(ids(tmp_path / "out2" / "validation.jsonl"))
    assert two.kept == 160


# -- filters, dedup, caps, weights -------------------------------------------------------------------
def test_filters_reject_with_their_reason(tmp_path: Path) -> None:
    rows = [
        {"id": "ok", "q": "Как дела?", "a": "Хорошо, спасибо."},
        {"id": "en", "q": "How?", "a": "Fine, thank you.", "lang": "de"},
        {"id": "short", "q": "Да?", "a": "Да"},
        {"id": "long", "q": "Расскажи " * 50, "a": "Длинно " * 50},
        {"id": "flagged", "q": "Повтори", "a": "ла ла ла ла ла", "flags": ["repetition"]},
    ]
    write_rows(tmp_path / "qa.jsonl", rows)
    _report, out = build(tmp_path, sources=[{"builder": "qa", "source": "qa.jsonl"}],
                        filters={"languages": ["ru", "en"], "min_chars": 5, "max_chars": 300,
                                 "drop_flags": ["repetition"]})  # fmt: skip
    assert ids(out / "train.jsonl") == ["ok"]
    by_id = {r["id"]: r["reason"] for r in read_jsonl(out / "rejects.jsonl")}
    assert by_id["en"].startswith("filter: language 'de'")
    assert by_id["short"] == "filter: an assistant reply is shorter than 5 characters"
    assert by_id["long"] == "filter: longer than 300 characters"
    assert by_id["flagged"] == "filter: translation flag repetition"


def test_exact_and_near_duplicates_across_sources(tmp_path: Path) -> None:
    text = "Москва является столицей России и крупнейшим городом страны по численности населения"
    write_rows(tmp_path / "a.jsonl", [{"id": "a1", "q": "Что такое Москва?", "a": text}])
    write_rows(tmp_path / "b.jsonl", [
        {"id": "b1", "q": "Что такое Москва? ", "a": text + "\n"},  # the same once each turn is stripped
        {"id": "b2", "q": "Что такое Москва?", "a": text + " сегодня"},  # nearly the same
        {"id": "b3", "q": "Что такое Казань?", "a": "Казань является столицей Татарстана"},
    ])  # fmt: skip
    sources = [{"builder": "qa", "source": "a.jsonl"}, {"builder": "qa", "source": "b.jsonl", "name": "b"}]
    report, out = build(tmp_path, sources=sources, dedup={"near": True, "near_threshold": 0.7}, shuffle=False)
    assert ids(out / "train.jsonl") == ["a1", "b3"]
    by_id = {r["id"]: r["reason"] for r in read_jsonl(out / "rejects.jsonl")}
    assert by_id["b1"] == "duplicate: same text as a1"
    assert by_id["b2"].startswith("near-duplicate:") and by_id["b2"].endswith("similar to a1")
    assert report.sources[1].rejected == {"duplicate": 1, "near-duplicate": 1}


def test_cap_is_a_seeded_sample_and_the_rest_is_rejected(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(50))
    report, out = build(tmp_path, sources=[{"builder": "qa", "source": "qa.jsonl", "max": 10}], shuffle=False)
    kept = ids(out / "train.jsonl")
    assert len(kept) == 10 and kept == sorted(kept, key=lambda i: int(i[1:])), "input order is kept"
    assert report.sources[0].rejected == {"cap": 40}
    (tmp_path / "again").mkdir()
    _again, out2 = build(tmp_path / "again", sources=[{"builder": "qa", "source": str(tmp_path / "qa.jsonl"),
                                                       "max": 10}], shuffle=False)  # fmt: skip
    assert ids(out2 / "train.jsonl") == kept


def test_weights_repeat_or_thin_a_source_within_one_split(tmp_path: Path) -> None:
    write_rows(tmp_path / "a.jsonl", qa_rows(30, "a"))
    write_rows(tmp_path / "b.jsonl", qa_rows(200, "b"))
    report, out = build(tmp_path, validation=0.3, sources=[
        {"builder": "qa", "source": "a.jsonl", "weight": 2},
        {"builder": "qa", "source": "b.jsonl", "name": "b", "weight": 0.5}])  # fmt: skip
    a, b = report.sources
    assert a.train + a.validation == 60
    assert 70 < b.train + b.validation < 130 and b.kept == b.train + b.validation
    assert b.kept + report.reasons()["weight"] == 200  # every conversation sampled out is a reject
    train, validation = set(ids(out / "train.jsonl")), set(ids(out / "validation.jsonl"))
    for i in range(30):
        assert ({f"a{i}", f"a{i}#2"} <= train) or ({f"a{i}", f"a{i}#2"} <= validation)


def test_colliding_ids_from_two_sources_are_renamed(tmp_path: Path) -> None:
    write_rows(tmp_path / "en.jsonl", [{"id": "x1", "q": "Hello?", "a": "Hi there.", "lang": "en"}])
    write_rows(tmp_path / "ru.jsonl", [{"id": "x1", "q": "Привет?", "a": "Здравствуйте."}])
    _, out = build(
        tmp_path,
        shuffle=False,
        sources=[
            {"builder": "qa", "source": "en.jsonl", "name": "en"},
            {"builder": "qa", "source": "ru.jsonl", "name": "ru"},
        ],
    )
    convs = list(read_conversations(out / "train.jsonl"))
    assert [c.id for c in convs] == ["x1", "x1@ru"]
    assert convs[1].meta["original_id"] == "x1"


# -- licences and safety ------------------------------------------------------------------------------
def test_commercial_refuses_naming_the_source(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(3))
    recipe = load_recipe(recipe_file(tmp_path, sources=[
        {"builder": "qa", "source": "qa.jsonl"}, {"builder": "qa_nc", "source": "qa.jsonl"}]))  # fmt: skip
    with pytest.raises(ConfigError, match=r"not cleared for commercial use: qa_nc \(CC-BY-NC-4.0\)"):
        build_dataset(recipe, tmp_path / "out", commercial=True)
    report = build_dataset(recipe, tmp_path / "out")
    assert not report.commercial
    assert "Not cleared for commercial use** because of: qa_nc" in (tmp_path / "out" / "README.md").read_text()


def test_options_can_clear_a_source_for_commercial_use(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(3))
    options = {"commercial": True, "license": "Apache-2.0"}
    report, _ = build(tmp_path, commercial=True, sources=[{"builder": "qa_nc", "source": "qa.jsonl",
                                                           "options": options}])  # fmt: skip
    assert report.commercial and report.sources[0].license == "Apache-2.0"


def test_existing_output_is_kept_unless_overwrite(tmp_path: Path) -> None:
    write_rows(tmp_path / "qa.jsonl", qa_rows(3))
    recipe = load_recipe(recipe_file(tmp_path, sources=[{"builder": "qa", "source": "qa.jsonl"}]))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "precious.txt").write_text("keep me")
    with pytest.raises(RuLLMError, match="already exists and is not empty"):
        build_dataset(recipe, mine)
    # --overwrite replaces only a directory ru-llm made: a user's own folder is refused and kept intact
    with pytest.raises(RuLLMError, match="not an output directory of ru-llm"):
        build_dataset(recipe, mine, overwrite=True)
    assert [p.name for p in mine.iterdir()] == ["precious.txt"]
    assert (mine / "precious.txt").read_text() == "keep me"

    built = tmp_path / "built"
    build_dataset(recipe, built)
    (built / "stale.txt").write_text("from an earlier run")
    with pytest.raises(RuLLMError, match="already exists and is not empty"):
        build_dataset(recipe, built)
    build_dataset(recipe, built, overwrite=True)
    assert not (built / "stale.txt").exists() and (built / "train.jsonl").is_file()
    with pytest.raises(RuLLMError, match="holds an input"):  # the data itself lies in the output directory
        build_dataset(recipe, tmp_path, overwrite=True)
    assert (tmp_path / "qa.jsonl").is_file()


def test_a_failing_build_leaves_nothing_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kit.qa_builder import QABuilder

    write_rows(tmp_path / "qa.jsonl", qa_rows(20))
    original = QABuilder.convert

    def convert(self, row, options):
        if row.index == 10:
            raise RuLLMError("disk on fire")
        return original(self, row, options)

    monkeypatch.setattr(QABuilder, "convert", convert)
    with pytest.raises(RuLLMError, match="disk on fire"):
        build(tmp_path, sources=[{"builder": "qa", "source": "qa.jsonl"}])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["qa.jsonl", "recipe.yaml"]


def test_the_example_recipe_is_valid_and_commercial() -> None:
    from conftest import REPO

    from ru_llm.dataset.build import _resolve, check_commercial

    recipe = load_recipe(REPO / "examples" / "recipes" / "translate_and_tune.yaml")
    assert [s.builder for s in recipe.sources] == ["dolly", "oasst1", "chip2", "file", "file", "file"]
    check_commercial(_resolve(spec).report for spec in recipe.sources)  # every source is cleared


def test_malformed_translation_flags_are_a_reject_not_a_crash(tmp_path: Path) -> None:
    from ru_llm.core import conversation, write_jsonl

    def conv(i: str, meta: dict):
        return conversation(i, [("user", f"Вопрос {i}?"), ("assistant", f"Ответ {i}.")], lang="ru", meta=meta)

    write_jsonl(tmp_path / "c.jsonl", [conv("a", {"translation": "x"}), conv("b", {"translation": {"flags": 5}}),
                                       conv("c", {"translation": {"flags": ["ok"]}})])  # fmt: skip
    _, out = build(tmp_path, sources=[{"file": "c.jsonl"}], filters={"drop_flags": ["repetition"]})
    assert set(ids(out / "train.jsonl")) == {"a", "c"}
    assert {r["id"]: r["reason"] for r in read_jsonl(out / "rejects.jsonl")} == {
        "b": "filter: meta.translation.flags is not a list of strings"
    }


def test_repeated_ids_with_near_dedup_and_weights_stay_unique(tmp_path: Path) -> None:
    rows = [{"id": "a", "q": f"Вопрос {w}?", "a": f"Совсем другой ответ про {w}."} for w in ("кошек", "собак", "рыб")]
    write_rows(tmp_path / "qa.jsonl", rows)
    _, out = build(tmp_path, shuffle=False, dedup={"near": True},
                   sources=[{"builder": "qa", "source": "qa.jsonl", "weight": 2}])  # fmt: skip
    written = ids(out / "train.jsonl")
    assert len(written) == len(set(written)) == 6
    assert written[:4] == ["a", "a#2", "a@qa", "a@qa#2"]


def test_exact_duplicate_of_a_rejected_record_names_the_kept_one(tmp_path: Path) -> None:
    text = "Москва является столицей России и крупнейшим городом страны по численности населения"
    write_rows(tmp_path / "qa.jsonl", [
        {"id": "x", "q": "Что такое Москва?", "a": text},
        {"id": "y", "q": "Что такое Москва?", "a": text + " сегодня"},  # near-duplicate of x: rejected
        {"id": "z", "q": "Что такое Москва?", "a": text + " сегодня"},  # identical to y
    ])  # fmt: skip
    _, out = build(tmp_path, shuffle=False, dedup={"near": True, "near_threshold": 0.7},
                   sources=[{"builder": "qa", "source": "qa.jsonl"}])  # fmt: skip
    reasons = {r["id"]: r["reason"] for r in read_jsonl(out / "rejects.jsonl")}
    assert reasons["y"].endswith("similar to x") and reasons["z"].endswith("similar to x")


def test_optional_libraries_missing_say_which_extra_to_install(tmp_path: Path, monkeypatch) -> None:
    import sys

    from ru_llm.dataset.registry import get_dataset_builder

    write_rows(tmp_path / "qa.jsonl", qa_rows(3))
    monkeypatch.setitem(sys.modules, "datasketch", None)  # as where ru-llm-dataset is installed without [dedup]
    with pytest.raises(ConfigError, match="near-duplicate removal") as e:
        build(tmp_path, sources=[{"builder": "qa", "source": "qa.jsonl"}], dedup={"near": True})
    assert e.value.hint == 'pip install "ru-llm-dataset[dedup]"' and not (tmp_path / "out").exists()
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(ConfigError, match="needs datasets, which is not installed") as e:
        next(get_dataset_builder("dolly").load(None, on_reject=lambda reject: None))
    assert e.value.hint == 'pip install "ru-llm-dataset[hf]"'
