"""The plugin surface: every hook is documented, tested, and works for a third-party plugin."""

from __future__ import annotations

import inspect
import re
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO

from ru_llm.core import ModelFamily, PluginError, get_plugin_manager, hookimpl
from ru_llm.core.families import get_model_family, model_families
from ru_llm.dataset import Segment, get_dataset_builder, get_template, templates
from ru_llm.eval import eval_tasks, metrics
from ru_llm.tokenize import embedding_initializers, tokenizer_trainers
from ru_llm.train import data_pipelines, trainer_strategies
from ru_llm.train.strategy import StrategyDefaults
from ru_llm.translate import get_translator


def hookspecs() -> dict[str, object]:
    """Every hook defined by an installed ru-llm package: name -> spec function."""
    pm = get_plugin_manager()
    return {name: caller.spec.function for name, caller in vars(pm.hook).items() if caller.spec is not None}


EXPECTED_HOOKS = {
    "register_model_families",
    "register_dataset_builders",
    "register_templates",
    "register_translators",
    "register_tokenizer_trainers",
    "register_embedding_initializers",
    "register_trainer_strategies",
    "register_data_pipelines",
    "register_eval_tasks",
    "register_eval_models",
    "register_metrics",
    "register_commands",
}


def test_the_architecture_hooks_all_exist() -> None:
    assert set(hookspecs()) == EXPECTED_HOOKS


@pytest.mark.parametrize("name", sorted(EXPECTED_HOOKS))
def test_every_hookspec_has_a_docstring_for_its_parameters(name: str) -> None:
    spec = hookspecs()[name]
    doc = inspect.getdoc(spec) or ""
    assert len(doc.splitlines()[0]) > 10, f"{name} has no summary line"
    for param in inspect.signature(spec).parameters:
        assert f":param {param}:" in doc, f"{name} does not document {param}"


@pytest.mark.parametrize("name", sorted(EXPECTED_HOOKS))
def test_every_hook_has_its_own_test(name: str) -> None:
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").rglob("test_*.py"))
    assert re.search(rf"def test_hook_{name}\b", tests), f"write test_hook_{name}"


@pytest.mark.parametrize("name", sorted(EXPECTED_HOOKS))
def test_every_hook_is_documented_with_its_signature(name: str) -> None:
    docs = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    params = ", ".join(inspect.signature(hookspecs()[name]).parameters)
    assert f"{name}({params})" in docs, f"docs/plugins.md must show {name}({params})"


# -- one test per hook: a third-party plugin registers, the host finds it by name ----------------
@dataclass(frozen=True)
class Thing:
    name: str
    aliases: tuple[str, ...] = ()


def register_plugin(pm, hook: str, obj: object, name: str = "thirdparty") -> None:
    module = types.ModuleType(name)
    setattr(module, hook, hookimpl(lambda register: register(obj)))
    pm.register(module, name=name)


def test_hook_register_model_families(plugin_manager) -> None:
    family = ModelFamily(name="phi3", model_types=("phi3",), lora_target_modules=("qkv_proj", "o_proj"))
    register_plugin(plugin_manager, "register_model_families", family)
    assert get_model_family("PHI3") is family
    assert model_families().entry("phi3").plugin == "thirdparty"


def test_hook_register_dataset_builders(plugin_manager) -> None:
    from ru_llm.core import conversation
    from ru_llm.dataset.builders import DatasetBuilder

    class MyCorpus(DatasetBuilder):
        name = "my_corpus"
        aliases = ("mine",)
        license = "CC0-1.0"
        commercial = True
        lang = "ru"

        def convert(self, row, options):
            yield conversation(f"mine-{row.index}", [("user", row.record["q"]), ("assistant", row.record["a"])])

    register_plugin(plugin_manager, "register_dataset_builders", MyCorpus())
    builder = get_dataset_builder("mine")
    assert isinstance(builder, MyCorpus)
    register_plugin(plugin_manager, "register_dataset_builders", Thing("not_a_builder"), name="bad")
    with pytest.raises(PluginError, match="is not a DatasetBuilder"):
        get_dataset_builder("mine")


class EchoTemplate:
    name = "echo"

    def render(self, conversation):
        return [Segment(m.content, m.role == "assistant") for m in conversation.messages]

    def render_prompt(self, conversation):
        return "".join(s.text for s in self.render(conversation))


def test_hook_register_templates(plugin_manager) -> None:
    register_plugin(plugin_manager, "register_templates", EchoTemplate())
    assert isinstance(get_template("echo"), EchoTemplate)
    assert templates().entry("echo").plugin == "thirdparty"


def test_templates_must_follow_the_template_contract(plugin_manager) -> None:
    register_plugin(plugin_manager, "register_templates", Thing("not_a_template"))
    with pytest.raises(PluginError, match="is not a Template"):
        templates()


def test_hook_register_translators(plugin_manager) -> None:
    from ru_llm.translate.backends import TranslatorBackend

    class FakeMT(TranslatorBackend):
        name = "fake_mt"

        def load(self, model=None, **options):
            raise NotImplementedError

    translator = FakeMT()
    register_plugin(plugin_manager, "register_translators", translator)
    assert get_translator("fake-mt") is translator
    register_plugin(plugin_manager, "register_translators", Thing("not_a_backend"), name="bad")
    with pytest.raises(PluginError, match="is not a TranslatorBackend"):
        get_translator("fake-mt")


def test_hook_register_tokenizer_trainers(plugin_manager) -> None:
    from ru_llm.tokenize.trainers import TokenizerTrainer

    class WordPiece(TokenizerTrainer):
        name = "wordpiece"

    trainer = WordPiece()
    register_plugin(plugin_manager, "register_tokenizer_trainers", trainer)
    assert tokenizer_trainers().get("wordpiece") is trainer
    assert tokenizer_trainers().names()[:3] == ["byte-level-bpe", "sentencepiece-bpe", "sentencepiece-unigram"]
    register_plugin(plugin_manager, "register_tokenizer_trainers", Thing("not_a_trainer"), name="bad")
    with pytest.raises(PluginError, match="is not a TokenizerTrainer"):
        tokenizer_trainers()


def test_hook_register_embedding_initializers(plugin_manager) -> None:
    from ru_llm.tokenize.embeddings import EmbeddingInitializer

    class Zeros(EmbeddingInitializer):
        name = "zeros"

    init = Zeros()
    register_plugin(plugin_manager, "register_embedding_initializers", init)
    assert embedding_initializers().get("zeros") is init
    assert "mean" in embedding_initializers()  # the built-ins come through the same hook


class FrozenBodyStrategy(StrategyDefaults):
    """A third-party strategy as docs/plugins.md shows it: trains only the output layer."""

    name = "head-only"
    description = "train lm_head only"

    def prepare(self, model, config, family):  # type: ignore[no-untyped-def]
        return model

    def trainer_arguments(self, config, output_dir):  # type: ignore[no-untyped-def]
        return {}

    def save(self, trainer, output_dir):  # type: ignore[no-untyped-def]
        trainer.save_model(str(output_dir))


def test_hook_register_trainer_strategies(plugin_manager) -> None:
    strategy = FrozenBodyStrategy()
    register_plugin(plugin_manager, "register_trainer_strategies", strategy)
    assert trainer_strategies().entry("head-only").plugin == "thirdparty"
    assert {"full", "lora", "cpt"} <= set(trainer_strategies().names())  # built-ins through the same hook


class LinesPipeline:
    """A third-party data kind: each line of a text file is one sample (the text pipeline's blocks)."""

    name = "lines"
    description = "one sample per line of data:"

    def inputs(self, config):  # type: ignore[no-untyped-def]
        return []

    def check(self, config, model_config):  # type: ignore[no-untyped-def]
        pass

    def settings_shown(self, config):  # type: ignore[no-untyped-def]
        return set()

    def prepare(self, config, family, tokenizer, on_reject, console):  # type: ignore[no-untyped-def]
        raise NotImplementedError  # not reached here: the registry only is tested

    def preview(self, config, family, tokenizer, count, rejects):  # type: ignore[no-untyped-def]
        return []


def test_hook_register_data_pipelines(plugin_manager) -> None:
    register_plugin(plugin_manager, "register_data_pipelines", LinesPipeline())
    assert data_pipelines().entry("lines").plugin == "thirdparty"
    assert {"conversations", "text", "preferences"} <= set(data_pipelines().names())  # built-ins, same hook
    register_plugin(plugin_manager, "register_data_pipelines", Thing("broken"), name="other")
    with pytest.raises(PluginError, match="is not a DataPipeline"):
        data_pipelines()


def test_a_trainer_strategy_without_the_interface_is_refused(plugin_manager) -> None:
    register_plugin(plugin_manager, "register_trainer_strategies", Thing("qlora"))
    with pytest.raises(PluginError, match="is not a TrainerStrategy"):
        trainer_strategies()


class ConstantTask:
    """A third-party task as docs/plugins.md shows it."""

    name = "rucola"
    description = "a constant"

    def load(self, settings):  # type: ignore[no-untyped-def]
        from ru_llm.eval.task import Item, TaskData

        return TaskData([Item("x/0", {})], "inline")

    def request(self, item, settings, fits):  # type: ignore[no-untyped-def]
        from ru_llm.eval.task import RollingRequest

        return RollingRequest("text")

    def score(self, item, request, response):  # type: ignore[no-untyped-def]
        return {"id": item.id, "prediction": None, "gold": None, "score": 1.0}

    def aggregate(self, records):  # type: ignore[no-untyped-def]
        return {"score": 1.0}


def test_hook_register_eval_tasks(plugin_manager) -> None:
    task = ConstantTask()
    register_plugin(plugin_manager, "register_eval_tasks", task)
    assert eval_tasks().get("rucola") is task
    assert eval_tasks().entry("rucola").plugin == "thirdparty"
    assert {"mmlu", "mmlu_ru", "perplexity", "mt_bench"} <= set(eval_tasks().names())  # built-ins, same hook


def test_hook_register_metrics(plugin_manager) -> None:
    """The hook's name before it was register_eval_tasks: still works for third-party plugins, and warns."""
    task = ConstantTask()
    with pytest.warns(DeprecationWarning, match="register_metrics is deprecated"):
        register_plugin(plugin_manager, "register_metrics", task)
    assert eval_tasks().get("rucola") is task
    assert metrics().get("rucola") is task  # the old lookup name too


def test_hook_register_eval_models(plugin_manager) -> None:
    from ru_llm.eval import eval_models, get_model_kind

    kind = ConstantModelKind()
    register_plugin(plugin_manager, "register_eval_models", kind)
    assert get_model_kind("constant") is kind
    assert {"hf", "openai-chat", "openai-completions"} <= set(eval_models().names())  # built-ins, same hook
    register_plugin(plugin_manager, "register_eval_models", Thing("broken"), name="other")
    with pytest.raises(PluginError, match="is not an EvalModelKind"):
        eval_models()


class ConstantModelKind:
    name = "constant"
    description = "answers nothing"

    def check(self, settings):  # type: ignore[no-untyped-def]
        return None

    def load(self, settings):  # type: ignore[no-untyped-def]
        raise AssertionError("not loaded here")


def test_a_task_without_the_interface_is_refused(plugin_manager) -> None:
    register_plugin(plugin_manager, "register_eval_tasks", Thing("broken"))
    with pytest.raises(PluginError, match="is not a Task"):
        eval_tasks()


def test_hook_register_commands(plugin_manager) -> None:
    from typer.testing import CliRunner

    from ru_llm.cli.app import build_app

    def register_commands(app):
        @app.command("greet")
        def greet(name: str) -> None:
            """Say hello in Russian."""
            print(f"Привет, {name}!")

    module = types.ModuleType("greeter")
    module.register_commands = hookimpl(register_commands)
    plugin_manager.register(module, name="greeter")
    result = CliRunner().invoke(build_app(), ["greet", "мир"])
    assert result.exit_code == 0, result.output
    assert "Привет, мир!" in result.output


def test_every_package_registers_its_hookspecs_from_its_own_module() -> None:
    pm = get_plugin_manager()
    owners = {name: caller.spec.namespace.__name__ for name, caller in vars(pm.hook).items() if caller.spec}
    assert owners["register_model_families"] == "ru_llm.core.hookspecs"
    assert owners["register_templates"] == "ru_llm.dataset.hookspecs"
    assert owners["register_translators"] == "ru_llm.translate.hookspecs"
    assert owners["register_embedding_initializers"] == "ru_llm.tokenize.hookspecs"
    assert owners["register_trainer_strategies"] == "ru_llm.train.hookspecs"
    assert owners["register_data_pipelines"] == "ru_llm.train.hookspecs"
    assert owners["register_eval_tasks"] == owners["register_eval_models"] == "ru_llm.eval.hookspecs"
    assert owners["register_metrics"] == "ru_llm.eval.hookspecs"
    assert owners["register_commands"] == "ru_llm.cli.hookspecs"


def test_package_hooks_live_in_the_package_folder() -> None:
    for package in ("core", "dataset", "translate", "tokenize", "train", "eval", "cli"):
        assert (REPO / "packages" / package / "src" / "ru_llm" / package / "hookspecs.py").is_file()
    assert not (REPO / "packages" / "core" / "src" / "ru_llm" / "__init__.py").exists(), "ru_llm is a namespace"
    assert Path(inspect.getfile(get_plugin_manager().__class__)).name == "plugins.py"
