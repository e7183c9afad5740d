"""`ru-llm plugins`, and plugins adding commands through ``register_commands``."""

from __future__ import annotations

import importlib.metadata
import json

import pytest
import typer

from ru_llm.core import PluginError

BUILTINS = {
    "ru_llm.core.builtin_families": ("ru-llm-core", ("register_model_families",)),
    "ru_llm.dataset.templates.builtin": ("ru-llm-dataset", ("register_templates",)),
    "ru_llm.dataset.builders.builtin": ("ru-llm-dataset", ("register_dataset_builders",)),
    "ru_llm.translate.backends.builtin": ("ru-llm-translate", ("register_translators",)),
    "ru_llm.tokenize.builtin_trainers": ("ru-llm-tokenize", ("register_tokenizer_trainers",)),
    "ru_llm.tokenize.builtin_initializers": ("ru-llm-tokenize", ("register_embedding_initializers",)),
    "ru_llm.train.strategies": ("ru-llm-train", ("register_trainer_strategies",)),
    "ru_llm.train.pipelines": ("ru-llm-train", ("register_data_pipelines",)),
    "ru_llm.eval.tasks": ("ru-llm-eval", ("register_eval_tasks",)),
    "ru_llm.eval.models": ("ru-llm-eval", ("register_eval_models",)),
    "ru_llm.cli.builtin_commands": ("ru-llm", ("register_commands",)),
}


def add_hello(app: typer.Typer) -> None:
    @app.command()
    def hello(name: str = typer.Option("world", help="Whom to greet.")) -> None:
        """Say hello."""
        typer.echo(f"hello {name}")


def test_plugins_table_lists_builtins(invoke):
    result = invoke(["plugins"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("│")}
    assert set(rows) == set(BUILTINS)
    for name, (dist, hooks) in BUILTINS.items():
        cells = [c.strip() for c in rows[name].split("│")[1:-1]]
        assert cells == [name, dist, importlib.metadata.version(dist), ", ".join(hooks), "built-in"]


def test_plugins_json(invoke):
    result = invoke(["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    for item in data:
        assert set(item) == {"name", "distribution", "version", "hooks", "builtin"}
    by_name = {item["name"]: item for item in data}
    assert set(by_name) == set(BUILTINS)
    for name, (dist, hooks) in BUILTINS.items():
        assert by_name[name] == {
            "name": name,
            "distribution": dist,
            "version": importlib.metadata.version(dist),
            "hooks": list(hooks),
            "builtin": True,
        }


def test_plugins_lists_a_registered_plugin_with_its_hooks(invoke, command_plugin):
    command_plugin("hello_plugin", add_hello)
    data = json.loads(invoke(["plugins", "--json"]).stdout)
    assert {item["name"] for item in data[: len(BUILTINS)]} == set(BUILTINS)  # built-ins first
    mine = data[-1]
    assert mine == {
        "name": "hello_plugin",
        "distribution": None,
        "version": None,
        "hooks": ["register_commands"],
        "builtin": False,
    }
    table = invoke(["plugins"]).stdout
    row = next(line for line in table.splitlines() if "hello_plugin" in line)
    assert [c.strip() for c in row.split("│")[1:-1]] == ["hello_plugin", "-", "-", "register_commands", "plugin"]


def test_plugins_lists_every_hook_of_a_plugin(invoke, plugin_manager):
    import types

    from ru_llm.core import ModelFamily, hookimpl

    module = types.ModuleType("two_hooks")

    @hookimpl
    def register_commands(app):
        pass

    @hookimpl
    def register_model_families(register):
        register(ModelFamily(name="falcon", model_types=("falcon",), lora_target_modules=("query_key_value",)))

    module.register_commands = register_commands
    module.register_model_families = register_model_families
    plugin_manager.register(module, name="two_hooks")
    data = {item["name"]: item for item in json.loads(invoke(["plugins", "--json"]).stdout)}
    assert data["two_hooks"]["hooks"] == ["register_commands", "register_model_families"]
    assert data["two_hooks"]["builtin"] is False


def test_plugin_command_appears_in_help_and_runs(invoke, command_plugin):
    command_plugin("hello_plugin", add_hello)
    help_text = invoke(["--help"]).stdout
    assert "hello" in help_text
    assert "Say hello." in help_text
    for name in ("translate", "plugins", "models"):
        assert name in help_text  # the built-ins are still there

    result = invoke(["hello"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "hello world\n"
    assert invoke(["hello", "--name", "Мир"]).stdout == "hello Мир\n"
    assert "Whom to greet." in invoke(["hello", "-h"]).stdout


def test_plugin_sub_app_runs(invoke, command_plugin):
    def add_greet(app):
        greet = typer.Typer(name="greet", help="Greetings.")

        @greet.command()
        def ru() -> None:
            typer.echo("привет")

        app.add_typer(greet)

    command_plugin("greet_plugin", add_greet)
    result = invoke(["greet", "ru"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "привет\n"


def test_user_error_from_a_plugin_command_is_one_line(invoke, command_plugin):
    from ru_llm.core import ConfigError

    def add_fail(app):
        @app.command()
        def fail() -> None:
            raise ConfigError("fail.yaml: key 'lr' must be a number", hint="write lr: 2e-5")

    command_plugin("fail_plugin", add_fail)
    result = invoke(["fail"])
    assert result.exit_code == 1
    assert result.stderr == "Error: fail.yaml: key 'lr' must be a number (hint: write lr: 2e-5)\n"


def test_a_bug_in_a_plugin_command_keeps_its_traceback(invoke, command_plugin):
    def add_crash(app):
        @app.command()
        def crash() -> None:
            raise ZeroDivisionError("real bug")

    command_plugin("crash_plugin", add_crash)
    result = invoke(["crash"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ZeroDivisionError)
    assert "Error:" not in result.stderr


def test_command_clashing_with_a_builtin_names_both_plugins(command_plugin):
    from ru_llm.cli.app import build_app

    def add_plugins(app):
        @app.command("plugins")
        def my_plugins() -> None:
            typer.echo("mine")

    command_plugin("clashing_plugin", add_plugins)
    with pytest.raises(PluginError) as caught:
        build_app()
    message = str(caught.value)
    assert "'clashing_plugin'" in message
    assert "'ru_llm.cli.builtin_commands'" in message
    assert "'plugins'" in message
    assert caught.value.hint


def test_sub_app_clashing_with_a_builtin_is_refused(command_plugin):
    from ru_llm.cli.app import build_app

    def add_models(app):
        models = typer.Typer(name="models")

        @models.command()
        def show() -> None:
            pass

        app.add_typer(models)

    command_plugin("models_plugin", add_models)
    with pytest.raises(PluginError, match=r"'models_plugin'.*'models'.*'ru_llm\.cli\.builtin_commands'"):
        build_app()


def test_two_plugins_adding_the_same_command_name_both(command_plugin):
    from ru_llm.cli.app import build_app

    command_plugin("first_hello", add_hello)
    command_plugin("second_hello", add_hello)
    with pytest.raises(PluginError) as caught:
        build_app()
    assert "'second_hello'" in str(caught.value)
    assert "'first_hello'" in str(caught.value)
    assert "'hello'" in str(caught.value)


def test_clash_through_a_capitalised_function_name_is_refused(command_plugin):
    from ru_llm.cli.app import build_app

    def add_capitalised(app):
        # Typer lower-cases a function's name: this command is "plugins" too (a regression test)
        def Plugins() -> None:
            typer.echo("hijacked")

        app.command()(Plugins)

    command_plugin("capital_plugin", add_capitalised)
    with pytest.raises(PluginError, match=r"'capital_plugin'.*'plugins'"):
        build_app()


def test_a_plugin_adding_the_same_command_twice_is_told_so(command_plugin):
    from ru_llm.cli.app import build_app
    from ru_llm.core import PluginError

    def register_commands(app):
        app.command("hello")(lambda: None)
        app.command("hello")(lambda: None)

    command_plugin("doubler", register_commands)
    with pytest.raises(PluginError, match="plugin 'doubler' adds the command 'hello' twice"):
        build_app()
