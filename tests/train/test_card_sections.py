"""The model card's resolved configuration shows only the settings of the strategy that ran."""

from __future__ import annotations

import pytest
import yaml

from ru_llm.train.configfile import dump_yaml, resolve_config
from ru_llm.train.outputs import card_config, model_card, settings_in_use
from ru_llm.train.registry import get_pipeline, get_strategy

BASE = ["model=m", "output_dir=o", "data=d.jsonl"]
CORPORA = 'cpt.corpora=[{"path": "ru.txt"}]'


def _used(config) -> set[str]:  # type: ignore[no-untyped-def]
    strategy = get_strategy(config.strategy)
    return settings_in_use(config, strategy, get_pipeline(strategy.data_kind))


def _card_yaml(*overrides: str) -> dict:
    config, tree = resolve_config(None, [*BASE, *overrides])
    used = _used(config)
    card = model_card(
        base_model="m", strategy=config.strategy, adapter=False, sources=[], data="d.jsonl",
        resolved_yaml=dump_yaml(card_config(tree, used)), report={"steps": 1, "tokens_seen": 10}, template="saiga",
    )  # fmt: skip
    block = card.split("```yaml\n", 1)[1].split("```", 1)[0]
    return yaml.safe_load(block)


@pytest.mark.parametrize(
    ("overrides", "shown"),
    [
        (["strategy=lora"], {"lora"}),
        (["strategy=full"], {"full"}),
        (["strategy=lora", "full.deepspeed=zero2"], {"lora", "full"}),
        (["strategy=lora", "lora.train_embeddings=true"], {"lora", "embeddings"}),
        (["strategy=dpo"], {"dpo", "lora"}),
        (["strategy=dpo", "dpo.method=full"], {"dpo", "full"}),
        (["strategy=cpt", CORPORA], {"cpt", "full"}),  # cpt.base: full by default
        (["strategy=cpt", CORPORA, "cpt.base=lora"], {"cpt", "lora"}),
        (["strategy=embeddings", CORPORA], {"embeddings", "cpt"}),
        (["strategy=lora", CORPORA], {"lora"}),  # conversations: the corpora are not read
    ],
)
def test_card_shows_the_settings_the_strategy_reads(overrides: list[str], shown: set[str]) -> None:
    settings = _card_yaml(*overrides)
    assert {k for k in ("lora", "full", "cpt", "dpo", "embeddings") if k in settings} == shown
    assert settings["model"] == "m" and "optimizer" in settings and "extra" not in settings


def test_a_lora_card_has_no_dpo_or_cpt_block_and_a_dpo_card_has_dpo() -> None:
    config, tree = resolve_config(None, [*BASE, "strategy=lora"])
    text = dump_yaml(card_config(tree, _used(config)))
    assert "\ndpo:" not in text and "\ncpt:" not in text and "\nlora:" in text
    assert "dpo" in tree and "cpt" in tree  # the tree itself (config.resolved.yaml) is untouched
    config, tree = resolve_config(None, [*BASE, "strategy=dpo", "dpo.beta=0.3"])
    text = dump_yaml(card_config(tree, _used(config)))
    assert "\ndpo:" in text and "beta: 0.3" in text and "\ncpt:" not in text


def test_a_third_party_strategy_keeps_only_its_own_settings_block() -> None:
    tree = {"strategy": "mine", "lora": {"r": 8}, "mine": {"k": 1}, "other": {"k": 2}}
    blocks = ("lora", "full", "cpt", "dpo", "embeddings", "mine", "other")
    assert card_config(tree, {"mine"}, blocks) == {"strategy": "mine", "mine": {"k": 1}}


def test_a_report_without_counts_still_makes_a_card() -> None:
    card = model_card(
        base_model="m", strategy="lora", adapter=True, sources=[], data="d.jsonl",
        resolved_yaml="strategy: lora\n", report={}, template="saiga",
    )  # fmt: skip
    assert "Optimizer steps ?; tokens seen ?;" in card
