"""The strategy contract: every trait is a declared member, answered by the strategy that owns it."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ru_llm.core import hookimpl
from ru_llm.train import data_pipelines, get_pipeline, get_strategy, trainer_strategies
from ru_llm.train.configfile import resolve_config
from ru_llm.train.data.encode import Sample
from ru_llm.train.pipelines import DataPipeline
from ru_llm.train.strategies.full import FullFineTuning
from ru_llm.train.strategies.lora import LoraFineTuning
from ru_llm.train.strategy import StrategyDefaults, TrainerStrategy

BASE = ["model=m", "output_dir=o", "data=d.jsonl"]


def config_of(*overrides: str) -> Any:
    return resolve_config(None, [*BASE, *overrides])[0]


def test_every_builtin_strategy_declares_the_whole_protocol_and_a_registered_data_kind() -> None:
    names = set(trainer_strategies().names())
    assert {"full", "lora", "cpt", "embeddings", "dpo"} <= names
    for name in names:
        strategy = get_strategy(name)
        assert isinstance(strategy, TrainerStrategy)
        assert isinstance(get_pipeline(strategy.data_kind), DataPipeline)
    assert set(data_pipelines().names()) >= {"conversations", "text", "preferences"}


@pytest.mark.parametrize(
    ("overrides", "frozen"),
    [
        (["strategy=lora"], True),
        (["strategy=full"], False),
        (["strategy=embeddings", "embeddings.train=all"], False),
        (["strategy=cpt", "cpt.base=lora"], True),
        (["strategy=cpt", "cpt.base=full"], False),
        (["strategy=dpo"], True),  # dpo.method: lora by default
        (["strategy=dpo", "dpo.method=full"], False),
    ],
)
def test_frozen_base_is_the_trained_strategys(overrides: list[str], frozen: bool) -> None:
    config = config_of(*overrides)
    assert get_strategy(config.strategy).frozen_base(config) is frozen


def test_card_label_and_reference_models_come_from_the_strategy() -> None:
    dpo = config_of("strategy=dpo", "dpo.loss=[sigmoid, sft]", "dpo.reference=/models/sft")
    assert get_strategy("dpo").card_label(dpo) == "dpo (loss: sigmoid, sft; lora)"
    assert get_strategy("dpo").reference_models(dpo) == {"dpo.reference": "/models/sft"}
    lora = config_of("strategy=lora")
    assert get_strategy("lora").card_label(lora) == "lora" and get_strategy("lora").reference_models(lora) == {}


class BuiltOnLora(StrategyDefaults):
    """A third-party strategy that holds lora (composition) and changes nothing it does."""

    name = "mine"
    description = "lora, held"

    def __init__(self) -> None:
        self.lora = LoraFineTuning()

    def frozen_base(self, config: Any) -> bool:
        return self.lora.frozen_base(config)

    def prepare(self, model: Any, config: Any, family: Any) -> Any:
        return self.lora.prepare(model, config, family)

    def trainer_arguments(self, config: Any, output_dir: Path) -> dict[str, Any]:
        return self.lora.trainer_arguments(config, output_dir)

    def save(self, trainer: Any, output_dir: Path) -> None:
        self.lora.save(trainer, output_dir)


@pytest.mark.parametrize(("strategy", "dtype"), [(BuiltOnLora(), "bfloat16"), (FullFineTuning(), "float32")])
def test_a_strategy_built_on_lora_keeps_the_bf16_frozen_base(strategy: Any, dtype: str, tiny_model) -> None:
    from ru_llm.train.trainer import load_model

    config = config_of("strategy=lora", f"model={tiny_model('llama')}", "precision=bf16", "device=cpu")
    model = load_model(config, strategy)
    assert {str(p.dtype).removeprefix("torch.") for p in model.parameters()} == {dtype}


class LinesPipeline:
    """A plugin's data kind: each line of ``data`` is one sample, every token trained."""

    name = "lines"
    description = "one sample per line"

    def inputs(self, config: Any) -> list[Path]:
        return [Path(config.data)]

    def check(self, config: Any, model_config: Any) -> None:
        pass

    def settings_shown(self, config: Any) -> set[str]:
        return set()

    def prepare(self, config: Any, family: Any, tokenizer: Any, on_reject: Any, console: Any) -> Any:
        raise AssertionError("the preview must not prepare the training set")

    def preview(self, config: Any, family: Any, tokenizer: Any, count: int, rejects: list[Any]) -> list[Sample]:
        lines = Path(config.data).read_text(encoding="utf-8").splitlines()[:count]
        samples = []
        for i, line in enumerate(lines):
            ids = np.asarray(tokenizer(line, add_special_tokens=False)["input_ids"], dtype=np.int32)
            samples.append(Sample(f"line-{i}", ids, ids.copy()))
        return samples


class LinesStrategy(StrategyDefaults):
    name = "lines-full"
    description = "full training on lines"
    data_kind = "lines"

    def prepare(self, model: Any, config: Any, family: Any) -> Any:
        return model

    def trainer_arguments(self, config: Any, output_dir: Path) -> dict[str, Any]:
        return {}

    def save(self, trainer: Any, output_dir: Path) -> None:
        trainer.save_model(str(output_dir))


def test_a_plugin_data_kind_feeds_the_preview(plugin_manager, tiny_model, tmp_path: Path) -> None:
    from ru_llm.train.preview import preview_samples

    module = types.ModuleType("lines_plugin")
    module.register_data_pipelines = hookimpl(lambda register: register(LinesPipeline()))
    module.register_trainer_strategies = hookimpl(lambda register: register(LinesStrategy()))
    plugin_manager.register(module, name="lines_plugin")
    data = tmp_path / "lines.txt"
    data.write_text("первая строка\nвторая строка\nтретья\n", encoding="utf-8")
    config = config_of("strategy=lines-full", f"model={tiny_model('llama')}", f"data={data}")
    samples, rejects = preview_samples(config, 2)
    assert [s.id for s, _ in samples] == ["line-0", "line-1"] and rejects == []
    sample, tokenizer = samples[0]
    assert tokenizer.decode(sample.input_ids.tolist()) == "первая строка"


class StrategyOf01:
    """A third-party strategy as docs/plugins.md showed it in 0.1, before every member was declared."""

    name = "head-only-01"
    description = "train lm_head only"
    data_kind = "conversations"

    def __init__(self) -> None:
        self.checked: list[Any] = []

    def check(self, config: Any) -> None:
        self.checked.append(config)

    def model_options(self, config: Any) -> dict[str, Any]:
        return {"revision": "main"}

    def prepare(self, model: Any, config: Any, family: Any) -> Any:
        return model

    def trainer_arguments(self, config: Any, output_dir: Path) -> dict[str, Any]:
        return {"learning_rate": 1e-4}

    def save(self, trainer: Any, output_dir: Path) -> None:
        trainer.save_model(str(output_dir))


def test_a_strategy_written_for_01_is_completed_with_the_defaults_and_warned_about(plugin_manager) -> None:
    own = StrategyOf01()

    class Plugin:
        @hookimpl
        def register_trainer_strategies(self, register: Any) -> None:
            register(own)

    plugin_manager.register(Plugin(), name="old-plugin")
    with pytest.warns(DeprecationWarning, match=r"head-only-01.*old-plugin.*frozen_base.*StrategyDefaults"):
        strategy = get_strategy("head-only-01")
    assert isinstance(strategy, TrainerStrategy) and strategy is not own
    config = config_of("strategy=full")
    # its own answers are the ones asked ...
    strategy.check(config)
    assert own.checked == [config]
    assert strategy.model_options(config) == {"revision": "main"}
    assert strategy.trainer_arguments(config, Path("o")) == {"learning_rate": 1e-4}
    # ... and the members it never declared get StrategyDefaults' answers
    assert strategy.frozen_base(config) is False and strategy.parameter_groups(None, config) is None
    assert strategy.trainer_parts(config, None, None, lambda name: None) is None
    assert strategy.settings_shown(config) == {"head-only-01"} and strategy.card_label(config) == "head-only-01"
    assert strategy.reference_models(config) == {} and strategy.settings_class is None


def test_an_object_missing_a_required_member_is_still_refused(plugin_manager) -> None:
    from ru_llm.core import PluginError

    class NoSave:
        name = "no-save"
        description = "cannot save"

        def prepare(self, model: Any, config: Any, family: Any) -> Any:
            return model

        def trainer_arguments(self, config: Any, output_dir: Path) -> dict[str, Any]:
            return {}

    class Plugin:
        @hookimpl
        def register_trainer_strategies(self, register: Any) -> None:
            register(NoSave())

    plugin_manager.register(Plugin(), name="broken-plugin")
    with pytest.raises(PluginError, match=r"broken-plugin.*not a TrainerStrategy"):
        trainer_strategies()
