"""`--commercial` trusts only the licence stamps the dataset builders write: records stamped
`commercial: true` train; records stamped false, unstamped records and corpora not marked cleared make
the run refuse, in one line naming the source, before the model is loaded or anything is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from kit.prepared_data import prepare
from kit.train_data import dolly_conversations, one_line_error, write_jsonl

from ru_llm.train.data.sources import DataSource, SourceCounter
from ru_llm.train.outputs import model_card

DATA = Path(__file__).resolve().parent.parent / "data"
ALPACA = DATA / "datasets" / "saiga" / "ru_turbo_alpaca.jsonl"
ULTRAFEEDBACK = DATA / "preference" / "ultrafeedback_binarized.jsonl"
NOT_CLEARED = "--commercial: not cleared for commercial use: "


def _load(cli: Callable[..., Any], tmp_path: Path, name: str, source: Path) -> Path:
    out = tmp_path / f"{name}.jsonl"
    result = cli("dataset", "load", name, "--source", source, "--out", out)
    assert result.exit_code == 0, result.output
    return out


def _refused(cli: Callable[..., Any], config: Path, tmp_path: Path) -> str:
    line = one_line_error(cli("train", "run", config, "--commercial"))
    assert not (tmp_path / "out").exists()  # refused before the output directory is made
    return line


def test_a_builds_train_jsonl_is_judged_by_its_records_like_the_build(run_config, cli, tmp_path: Path) -> None:
    """(a) a build holding ru_turbo_alpaca, handed over as its directory or as its train.jsonl."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"sources": [{"builder": "ru_turbo_alpaca", "source": str(ALPACA)}],
                                      "validation": 0}))  # fmt: skip
    assert cli("dataset", "build", recipe, "--out", tmp_path / "built").exit_code == 0
    lines = set()
    for data in (tmp_path / "built" / "train.jsonl", tmp_path / "built"):
        lines.add(_refused(cli, run_config("llama-small", data=str(data)), tmp_path))
    (line,) = lines
    assert NOT_CLEARED + "ru_turbo_alpaca (CC-BY-4.0; all records stamped commercial: false)" in line


def test_b_a_file_from_dataset_load_ru_turbo_alpaca_is_refused(run_config, cli, tmp_path: Path) -> None:
    data = _load(cli, tmp_path, "ru_turbo_alpaca", ALPACA)
    line = _refused(cli, run_config("llama-small", data=str(data)), tmp_path)
    assert NOT_CLEARED + "ru_turbo_alpaca (CC-BY-4.0; all records stamped commercial: false)" in line
    assert "drop these sources" in line


def test_c_dpo_on_a_file_from_dataset_load_ultrafeedback_is_refused(run_config, cli, tmp_path: Path) -> None:
    data = _load(cli, tmp_path, "ultrafeedback_binarized", ULTRAFEEDBACK)
    config = run_config("llama-small", data=str(data), strategy="dpo", dpo={"beta": 0.1}, batch_size=1)
    line = _refused(cli, config, tmp_path)
    assert NOT_CLEARED + "ultrafeedback_binarized (MIT; all records stamped commercial: false)" in line


def test_an_unstamped_file_is_refused_with_a_hint_to_rebuild(run_config, cli, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "old.jsonl", dolly_conversations(6))  # written before licence stamps
    line = _refused(cli, run_config("llama-small", data=str(data)), tmp_path)
    assert NOT_CLEARED + "dolly (CC-BY-SA-3.0; all records without a commercial stamp)" in line
    assert "`ru-llm dataset build` or `ru-llm dataset load`" in line


def test_one_uncleared_record_names_only_its_source(run_config, cli, tmp_path: Path) -> None:
    dolly = _load(cli, tmp_path, "dolly", DATA / "datasets" / "dolly.jsonl")
    records = [json.loads(line) for line in dolly.read_text("utf-8").splitlines()]
    records[-1] = {**records[-1], "source": "mine", "license": "CC0-1.0", "commercial": False}
    data = write_jsonl(tmp_path / "mixed.jsonl", records)
    line = _refused(cli, run_config("llama-small", data=str(data)), tmp_path)
    assert line.split(" (hint:")[0].endswith(NOT_CLEARED + "mine (CC0-1.0; all records stamped commercial: false)")
    # with max_samples the record after the last one trained is neither read nor judged
    prepared, _ = prepare(run_config, data=str(data), max_samples=len(records) - 1)
    assert [(s.name, s.records, s.status) for s in prepared.sources] == [("dolly", len(records) - 1, "yes")]


def test_records_all_stamped_cleared_train_and_the_card_says_so(run_config, cli, tmp_path: Path) -> None:
    data = _load(cli, tmp_path, "dolly", DATA / "datasets" / "dolly.jsonl")
    result = cli("train", "run", run_config("llama-small", data=str(data), max_steps=1), "--commercial")
    assert result.exit_code == 0, result.output
    card = (tmp_path / "out" / "README.md").read_text("utf-8")
    assert "All data sources are cleared for commercial use" in card
    assert "| dolly | CC-BY-SA-3.0 | yes |" in card


def test_a_cpt_corpus_needs_commercial_true(run_config, cli, tmp_path: Path) -> None:
    text = tmp_path / "ru.txt"
    text.write_text("\n\n".join(f"Документ номер {i}: немного текста о погоде." for i in range(200)), "utf-8")

    def config(name: str, **corpus: Any) -> Path:
        corpora = [{"path": str(text), "license": "CC0-1.0", **corpus}]
        return run_config("llama-small", name=name, strategy="cpt", data=None, max_length=64, cpt={"corpora": corpora})

    line = _refused(cli, config("a.yaml"), tmp_path)  # a licence string alone clears nothing
    assert NOT_CLEARED + "ru.txt (CC0-1.0; corpus not marked commercial: true)" in line
    assert "commercial: true` under cpt.corpora" in line
    line = _refused(cli, config("b.yaml", commercial=False), tmp_path)
    assert NOT_CLEARED + "ru.txt (CC0-1.0; corpus marked commercial: false)" in line


def test_sources_come_from_the_stamps_and_the_card_shows_each_status() -> None:
    def rec(source: str, license: str, commercial: bool | None) -> Any:
        from ru_llm.core.conversation import conversation

        return conversation("x", [("user", "Q"), ("assistant", "A")], source=source, license=license,
                            commercial=commercial)  # fmt: skip

    counter = SourceCounter()
    records = [rec("dolly", "CC-BY-SA-3.0", True)] * 3 + [rec("alpaca", "CC-BY-4.0", False)]
    records += [rec("mine", "MIT", None), rec("mine", "MIT", True)]
    assert len(list(counter.watch(iter(records)))) == 6
    sources = {s.name: s for s in counter.sources()}
    assert [(s.status, s.records) for s in sources.values()] == [("no", 1), ("yes", 3), ("unknown", 2)]
    assert sources["mine"].why_not() == "1 of 2 records without a commercial stamp"

    def card(sources: list[DataSource]) -> str:
        return model_card(base_model="m", strategy="lora", adapter=True, sources=sources, data="d.jsonl",
                          resolved_yaml="x: 1\n", report={"tokens_seen": 10}, template="chatml")  # fmt: skip

    mixed = card(list(sources.values()))
    assert "**Not cleared for commercial use** (not cleared: alpaca; unknown, no licence stamp: mine)." in mixed
    assert "| alpaca | CC-BY-4.0 | no (all records stamped commercial: false) | 1 |" in mixed
    assert "| mine | MIT | unknown (1 of 2 records without a commercial stamp) | 2 |" in mixed
    assert "cleared for commercial use:" not in mixed
    assert "All data sources are cleared for commercial use" in card([sources["dolly"]])
    assert "**Not cleared for commercial use** (no source recorded)." in card([])
