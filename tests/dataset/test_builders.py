"""Built-in dataset builders: registration, metadata, and conversion of real-format fixture files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ru_llm.core.errors import ConfigError, RuLLMError
from ru_llm.core.jsonl import Reject
from ru_llm.dataset import dataset_builders, get_dataset_builder
from ru_llm.dataset.builders import DatasetBuilder, LoadStats
from ru_llm.dataset.builders.dolly import strip_citations

DATA = Path(__file__).resolve().parents[1] / "data" / "datasets"

SAIGA = (
    "ru_turbo_alpaca",
    "ru_turbo_saiga",
    "ru_sharegpt_cleaned",
    "oasst1_ru_main_branch",
    "gpt_roleplay_realm",
    "ru_turbo_alpaca_evol_instruct",
    "ru_instruct_gpt4",
)


def load(name: str, source: Path, **options: Any) -> tuple[list, list[Reject], LoadStats]:
    rejects: list[Reject] = []
    stats = LoadStats()
    conversations = list(get_dataset_builder(name).load(source, options, on_reject=rejects.append, stats=stats))
    return conversations, rejects, stats


def roles(conversation) -> list[str]:
    return [m.role for m in conversation.messages]


# -- registry and metadata ------------------------------------------------------------------------
def test_every_builtin_is_registered_with_its_declarations() -> None:
    names = dataset_builders().names()
    assert set(names) >= {"dolly", "oasst1", "chip2", "file", "copy", *SAIGA}
    for name in names:
        builder = get_dataset_builder(name)
        assert isinstance(builder, DatasetBuilder)
        info = builder.info()
        assert info["name"] == name
        assert isinstance(info["license"], str) and info["license"]
        assert isinstance(info["commercial"], bool)
        if name not in ("file", "copy", "preference"):  # local sources: their data, licence and language are the user's
            assert info["hub_id"] and info["lang"] in ("en", "ru")


def test_licences_and_commercial_flags() -> None:
    assert (get_dataset_builder("dolly").license, get_dataset_builder("dolly").commercial) == ("CC-BY-SA-3.0", True)
    assert (get_dataset_builder("oasst1").license, get_dataset_builder("oasst1").commercial) == ("Apache-2.0", True)
    assert (get_dataset_builder("chip2").license, get_dataset_builder("chip2").commercial) == ("Apache-2.0", True)
    for name in SAIGA:
        builder = get_dataset_builder(name)
        assert (builder.license, builder.commercial, builder.lang) == ("CC-BY-4.0", False, "ru"), name
    assert get_dataset_builder("gpt_roleplay_realm").hub_split == "ru"


def test_aliases_resolve() -> None:
    assert get_dataset_builder("databricks-dolly-15k").name == "dolly"
    assert get_dataset_builder("oasst").name == "oasst1"
    assert get_dataset_builder("unified_chip2").name == "chip2"


def test_file_info_reports_the_options_in_effect() -> None:
    builder = get_dataset_builder("file")
    assert (builder.info()["license"], builder.info()["commercial"], builder.info()["lang"]) == ("unknown", False, None)
    info = builder.info({"license": "CC-BY-SA-3.0", "commercial": True, "lang": "ru"})
    assert (info["license"], info["commercial"], info["lang"]) == ("CC-BY-SA-3.0", True, "ru")
    assert get_dataset_builder("oasst1").info({"lang": "ru"})["lang"] == "ru"


def test_importing_the_package_stays_light() -> None:
    import subprocess

    code = (
        "import sys, ru_llm.dataset as d; d.dataset_builders().names(); "
        "print(sorted(m for m in ('datasets', 'torch', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- options ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "options", "needle"),
    [
        ("dolly", {"context": "middle"}, "'context' must be one of"),
        ("dolly", {"strip_citations": "yes"}, "'strip_citations' must be true or false"),
        ("dolly", {"contex": "both"}, "no option 'contex'"),
        ("oasst1", {"mode": "best"}, "'mode' must be one of"),
        ("oasst1", {"max_spam": "high"}, "'max_spam' must be a number"),
        ("oasst1", {"lang": ""}, "'lang' must be a language code or null"),
        ("file", {"commercial": "yes"}, "'commercial' must be true or false"),
        ("file", {"license": None}, "'license' must be a string"),
        ("file", {"non_alternating": "keep"}, "'non_alternating' must be one of"),
        ("ru_turbo_alpaca", {"output": "answer"}, "'output' must be one of"),
        ("ru_turbo_saiga", {"non_alternating": 1}, "'non_alternating' must be one of"),
    ],
)
def test_bad_options_are_config_errors(name: str, options: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        get_dataset_builder(name).parse_options(options)


# -- dolly ---------------------------------------------------------------------------------------------
def test_strip_citations() -> None:
    assert strip_citations("Paris, France.[1] Built 1887.[2][3]") == "Paris, France. Built 1887."
    assert strip_citations("readability [13, 14] with [15–17] x") == "readability with x"
    assert strip_citations("a list [a] and [12a] stay") == "a list [a] and [12a] stay"


def test_dolly_default_puts_context_after_and_strips_citations() -> None:
    conversations, rejects, stats = load("dolly", DATA / "dolly.jsonl")
    assert rejects == [] and stats.rows == 5 and len(conversations) == 5
    first = conversations[0]
    assert first.id == "dolly-00000"
    assert (first.source, first.lang, first.license) == ("dolly", "en", "CC-BY-SA-3.0")
    assert first.meta == {"category": "closed_qa", "context": "after"}
    prompt, answer = (m.content for m in first.messages)
    assert prompt.startswith("When was the Eiffel Tower built?\n\nThe Eiffel Tower is")
    assert "[1]" not in prompt and "[2]" not in answer and answer == "The Eiffel Tower was built from 1887 to 1889."
    no_context = conversations[1]
    assert no_context.messages[0].content == "Give me three ideas for a rainy weekend."
    assert no_context.meta == {"category": "brainstorming"}
    assert conversations[4].meta == {"category": "open_qa"}  # context null


def test_dolly_context_before_and_options_off() -> None:
    conversations, _, _ = load(
        "dolly", DATA / "dolly.jsonl", context="before", strip_citations=False, keep_category=False
    )
    prompt = conversations[0].messages[0].content
    assert prompt.startswith("The Eiffel Tower is") and prompt.endswith("\n\nWhen was the Eiffel Tower built?")
    assert "[1]" in prompt
    assert conversations[0].meta == {"context": "before"} and conversations[1].meta == {}


def test_dolly_both_makes_two_records_for_rows_with_context() -> None:
    conversations, rejects, stats = load("dolly", DATA / "dolly.jsonl", context="both")
    ids = [c.id for c in conversations]
    assert ids == [
        "dolly-00000-ctx-before",
        "dolly-00000-ctx-after",
        "dolly-00001",
        "dolly-00002-ctx-before",
        "dolly-00002-ctx-after",
        "dolly-00003",
        "dolly-00004",
    ]
    assert len(set(ids)) == len(ids) and rejects == [] and stats.conversations == 7
    before, after = conversations[0], conversations[1]
    assert before.messages[1] == after.messages[1]
    assert before.messages[0].content != after.messages[0].content


# -- chip2 -----------------------------------------------------------------------------------------------
def test_chip2_instruct_alpha_v6a_json_array() -> None:
    conversations, rejects, _ = load("chip2", DATA / "chip2" / "chip2_instruct_alpha_v6a.json")
    assert rejects == [] and len(conversations) == 3
    first = conversations[0]
    assert [(m.role, m.content) for m in first.messages] == [
        ("user", "What is the capital of France?"),
        ("assistant", "The capital of France is Paris."),
    ]
    assert first.meta["layout"] == "chip2-instruct-alpha-v6a" and first.id == "chip2-00000"
    assert "\n" in conversations[1].messages[1].content  # a haiku keeps its lines
    assert roles(conversations[2]) == ["user", "assistant", "user", "assistant"]
    assert all("<|endoftext|>" not in m.content for c in conversations for m in c.messages)


def test_chip2_unified_jsonl() -> None:
    conversations, rejects, _ = load("chip2", DATA / "chip2" / "unified_chip2.jsonl")
    assert rejects == [] and len(conversations) == 3
    assert conversations[0].messages[1].content.startswith("Put the egg in boiling water")
    assert conversations[0].meta == {"layout": "unified_chip2", "origin": "unified_chip2"}
    assert roles(conversations[1]) == ["user", "assistant", "user", "assistant"]
    assert conversations[1].messages[3].content == "13 times 13 is 169."
    assert {c.source for c in conversations} == {"chip2"}


def test_chip2_directory_reads_both_layouts() -> None:
    conversations, rejects, _ = load("chip2", DATA / "chip2")
    assert rejects == [] and len(conversations) == 6
    assert len({c.id for c in conversations}) == 6


# -- Saiga sets --------------------------------------------------------------------------------------------
def test_ru_turbo_alpaca_output_choice() -> None:
    conversations, rejects, _ = load("ru_turbo_alpaca", DATA / "saiga" / "ru_turbo_alpaca.jsonl")
    assert rejects == [] and [c.id for c in conversations] == ["ru_turbo_alpaca-00000", "ru_turbo_alpaca-00001"]
    first = conversations[0]
    assert (
        first.messages[0].content == "Напишите краткую историю о двух лучших друзьях.\nДано: Имена друзей: Катя и Лена."
    )
    assert first.messages[1].content.startswith("Катя и Лена дружили")
    assert conversations[1].messages[0].content == "Назовите три самых больших озера России."
    assert (first.lang, first.license, first.meta["label"]) == ("ru", "CC-BY-4.0", "ok")
    alternative, _, _ = load("ru_turbo_alpaca", DATA / "saiga" / "ru_turbo_alpaca.jsonl", output="alternative_output")
    assert alternative[0].messages[1].content.startswith("Катя и Лена были неразлучны")
    assert alternative[0].meta["output_field"] == "alternative_output"
    assert alternative[1].messages[1].content == "Байкал, Ладожское озеро и Онежское озеро."  # empty: falls back
    assert "output_field" not in alternative[1].meta


def test_ru_turbo_saiga_reads_column_and_list_message_layouts() -> None:
    conversations, rejects, _ = load("ru_turbo_saiga", DATA / "saiga" / "ru_turbo_saiga.jsonl")
    assert rejects == []
    assert roles(conversations[0]) == ["user", "assistant", "user", "assistant"]
    assert roles(conversations[1]) == ["user", "assistant"]
    assert conversations[0].meta == {"seed": "бег", "source": "gpt-3.5-turbo", "model_name": "gpt-3.5-turbo"}
    assert conversations[1].messages[1].content == "Столица Австралии — Канберра."


def test_ru_sharegpt_cleaned_merges_consecutive_bot_turns() -> None:
    conversations, rejects, _ = load("ru_sharegpt_cleaned", DATA / "saiga" / "ru_sharegpt_cleaned.jsonl")
    assert rejects == [] and conversations[0].meta == {"source_id": "sg-1"}
    merged = conversations[1]
    assert roles(merged) == ["user", "assistant"]
    assert merged.messages[1].content == "Встречаются два программиста...\n\n...и оба ищут ошибку в чужом коде."
    assert merged.meta == {"source_id": "sg-2", "merged_turns": 1}
    strict, rejects, _ = load(
        "ru_sharegpt_cleaned", DATA / "saiga" / "ru_sharegpt_cleaned.jsonl", non_alternating="reject"
    )
    assert len(strict) == 1
    assert [r.reason for r in rejects] == ["two assistant turns in a row (messages 1 and 2)"]


def test_oasst1_ru_main_branch_trims_a_trailing_user_turn() -> None:
    conversations, rejects, _ = load("oasst1_ru_main_branch", DATA / "saiga" / "oasst1_ru_main_branch.jsonl")
    assert rejects == []
    assert conversations[0].meta == {"source_id": "0a1b2c3d-0000-4000-8000-000000000001"}
    assert roles(conversations[1]) == ["user", "assistant"]
    assert conversations[1].meta["trimmed_trailing_user"] == 1


def test_gpt_roleplay_realm_one_conversation_per_dialogue() -> None:
    conversations, rejects, stats = load("gpt_roleplay_realm", DATA / "saiga" / "gpt_roleplay_realm.jsonl")
    assert rejects == [] and stats.rows == 1 and len(conversations) == 2
    assert [c.id for c in conversations] == ["gpt_roleplay_realm-00000-0", "gpt_roleplay_realm-00000-1"]
    system = "Ты Кот Баюн. Сказочный кот, который умеет убаюкивать сказками."
    for conversation in conversations:
        assert conversation.messages[0].role == "system" and conversation.messages[0].content == system
    assert roles(conversations[0]) == ["system", "user", "assistant", "user", "assistant"]
    assert roles(conversations[1]) == ["system", "user", "assistant"]  # operator -> user, char -> assistant
    assert conversations[0].meta == {"character": "Кот Баюн", "topic": "сказки", "model_name": "gpt-4"}


def test_evol_instruct_and_instruct_gpt4() -> None:
    evol, rejects, _ = load("ru_turbo_alpaca_evol_instruct", DATA / "saiga" / "ru_turbo_alpaca_evol_instruct.jsonl")
    assert rejects == [] and evol[0].meta == {"iteration": 1} and roles(evol[0]) == ["user", "assistant"]
    gpt4, rejects, _ = load("ru_instruct_gpt4", DATA / "saiga" / "ru_instruct_gpt4.jsonl")
    assert rejects == []
    assert gpt4[0].messages[0].content == "Переведите фразу на английский язык.\nДано: Доброе утро!"
    assert gpt4[0].messages[1].content == "Перевод: «Good morning!»"
    short, _, _ = load("ru_instruct_gpt4", DATA / "saiga" / "ru_instruct_gpt4.jsonl", output="output")
    assert short[1].messages[1].content == "Зерно"


# -- file -------------------------------------------------------------------------------------------------------
def test_file_openai_layout_keeps_our_schema_fields() -> None:
    conversations, rejects, _ = load("file", DATA / "file" / "openai.jsonl", lang="en")
    assert rejects == []
    ours = conversations[0]
    assert ours.id == "mine-1" and roles(ours) == ["system", "user", "assistant"]
    assert (ours.source, ours.lang, ours.license, ours.meta) == ("dolly", "ru", "CC-BY-SA-3.0", {"category": "open_qa"})
    bare = conversations[1]
    assert bare.id == "file-00001" and bare.messages[1].content == "4"  # text parts joined
    assert (bare.source, bare.lang, bare.license, bare.meta) == ("file", "en", "unknown", {"topic": "math"})
    assert roles(conversations[2]) == ["user", "assistant"]  # human/bot aliases


def test_file_sharegpt_and_alpaca_layouts() -> None:
    shared, rejects, _ = load("file", DATA / "file" / "sharegpt.json", license="CC-BY-4.0")
    assert rejects == [] and [c.id for c in shared] == ["share-1", "share-2"]
    assert roles(shared[1]) == ["system", "user", "assistant", "user", "assistant"]
    assert shared[0].meta == {"layout": "sharegpt"} and shared[0].license == "CC-BY-4.0" and shared[0].lang is None
    alpaca, rejects, _ = load("file", DATA / "file" / "alpaca.jsonl")
    assert rejects == [] and [c.id for c in alpaca] == ["file-00000", "file-00001"]
    assert alpaca[1].messages[0].content == "Translate to French.\n\nGood night"
    assert alpaca[0].messages[0].content == "Give three tips for staying healthy."


def test_file_directory_mixes_layouts_with_unique_ids() -> None:
    conversations, rejects, stats = load("file", DATA / "file")
    assert rejects == [] and stats.rows == 7 and len({c.id for c in conversations}) == 7


def test_file_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in (DATA / "file" / "alpaca.jsonl").read_text(encoding="utf-8").splitlines()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "alpaca.parquet")
    messages = [{"messages": [{"role": "user", "content": "Привет"}, {"role": "assistant", "content": "Здравствуйте"}]}]
    pq.write_table(pa.Table.from_pylist(messages), tmp_path / "chat.parquet")
    conversations, rejects, _ = load("file", tmp_path)
    assert rejects == [] and len(conversations) == 3
    assert conversations[0].messages[1].content == "Eat well, sleep enough and move every day."
    assert conversations[2].messages[0].content == "Привет"


def test_saiga_hub_parquet_column_layout(tmp_path: Path) -> None:
    """The hub stores message lists as a struct of lists; Parquet round-trips that layout."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in (DATA / "saiga" / "oasst1_ru_main_branch.jsonl").read_text().splitlines()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "train.parquet")
    conversations, rejects, _ = load("oasst1_ru_main_branch", tmp_path / "train.parquet")
    assert rejects == [] and roles(conversations[0]) == ["user", "assistant"]


# -- the hub -----------------------------------------------------------------------------------------------------
def test_hub_failure_says_how_to_use_source(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    calls = []

    def offline(*args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))
        raise ConnectionError("Couldn't reach 'databricks/databricks-dolly-15k' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(RuLLMError) as info:
        list(get_dataset_builder("dolly").load(on_reject=lambda r: None))
    assert "cannot load 'databricks/databricks-dolly-15k'" in str(info.value)
    assert "--source PATH" in info.value.hint
    assert calls[0][0][0] == "databricks/databricks-dolly-15k" and calls[0][1]["streaming"] is True

    with pytest.raises(RuLLMError):
        list(get_dataset_builder("chip2").load(on_reject=lambda r: None))
    assert calls[1][1]["data_files"] == "unified_chip2.jsonl"
    with pytest.raises(RuLLMError):
        list(get_dataset_builder("gpt_roleplay_realm").load(on_reject=lambda r: None))
    assert calls[2][1]["split"] == "ru"


def test_hub_rows_are_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    rows = [{"instruction": "Hi?", "context": "", "response": "Hello.", "category": "open_qa"}]
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: iter(rows))
    (conversation,) = get_dataset_builder("dolly").load(on_reject=lambda r: None)
    assert conversation.id == "dolly-00000" and conversation.messages[1].content == "Hello."


def test_file_builder_has_no_hub() -> None:
    with pytest.raises(RuLLMError, match="local files only") as info:
        list(get_dataset_builder("file").load(on_reject=lambda r: None))
    assert "--source" in info.value.hint


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuLLMError, match="no such file or directory"):
        list(get_dataset_builder("dolly").load(tmp_path / "nope.jsonl", on_reject=lambda r: None))
