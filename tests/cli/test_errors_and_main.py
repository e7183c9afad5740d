"""User errors: one line with a hint, exit 1; RU_LLM_DEBUG lets them propagate; the ``main()`` entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ru_llm.cli.errors import format_user_error
from ru_llm.cli.main import main
from ru_llm.core import ConfigError, PluginError, RuLLMError, UnknownNameError


def user_error_args(tmp_path: Path) -> dict[str, list[str]]:
    (tmp_path / "unknown").mkdir()
    (tmp_path / "unknown" / "config.json").write_text('{"model_type": "falcon"}', encoding="utf-8")
    (tmp_path / "empty").mkdir()
    return {
        "placeholder": ["eval", "run", "mmlu_xx", "--model", "m", "--out", "r.json"],
        "typo": ["models", "lama"],
        "no-config": ["models", str(tmp_path / "empty")],
        "unknown-model-type": ["models", str(tmp_path / "unknown")],
        "no-close-match": ["models", "zzzz"],
    }


CASES = ["placeholder", "typo", "no-config", "unknown-model-type", "no-close-match"]


@pytest.mark.parametrize("case", CASES)
def test_user_error_is_exactly_one_line(invoke, tmp_path, case):
    result = invoke(user_error_args(tmp_path)[case])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error:")
    assert "hint:" in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("debug", ["1", "true", "YES", "on"])
def test_debug_lets_the_user_error_propagate(invoke, tmp_path, case, debug):
    result = invoke(user_error_args(tmp_path)[case], env={"RU_LLM_DEBUG": debug})
    assert isinstance(result.exception, RuLLMError)
    assert result.exit_code == 1
    assert "Error:" not in result.stderr


def test_debug_propagates_the_exact_error(invoke):
    result = invoke(["models", "lama"], env={"RU_LLM_DEBUG": "1"})
    assert type(result.exception) is UnknownNameError
    assert result.exception.suggestion == "llama"
    result = invoke(["train", "run", "missing.yaml"], env={"RU_LLM_DEBUG": "1"})
    assert type(result.exception) is ConfigError


@pytest.mark.parametrize("off", ["", "0", "false", "no"])
def test_debug_off_values_keep_the_one_line_error(invoke, off):
    result = invoke(["models", "lama"], env={"RU_LLM_DEBUG": off})
    assert result.exit_code == 1
    assert result.stderr.startswith("Error:")


def test_error_message_is_folded_onto_one_line():
    error = RuLLMError("first line\nsecond   line", hint="do\nthis")
    assert format_user_error(error) == "Error: first line second line (hint: do this)"


def test_error_without_hint_points_at_debug():
    assert format_user_error(RuLLMError("bad")) == "Error: bad (hint: set RU_LLM_DEBUG=1 for the full traceback)"


def test_rich_markup_in_a_message_is_printed_verbatim(invoke, command_plugin):
    def add_fail(app):
        @app.command()
        def fail() -> None:
            raise RuLLMError("bad value [red]x[/red] in [section]", hint="see [docs]")

    command_plugin("markup_plugin", add_fail)
    result = invoke(["fail"])
    assert result.exit_code == 1
    assert result.stderr == "Error: bad value [red]x[/red] in [section] (hint: see [docs])\n"


# -- main() ----------------------------------------------------------------------------------------


def test_main_runs_a_command_and_exits_0(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["models", "--json"])
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    assert [f["name"] for f in json.loads(out)][:2] == ["llama", "llama3"]
    assert err == ""


def test_main_reports_a_user_error_and_exits_1(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["models", "lama"])
    assert exited.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("Error: unknown model family 'lama'; did you mean 'llama'?")


def test_main_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("ru-llm ")


def test_main_reports_a_broken_plugin_in_one_line(capsys, command_plugin):
    def broken(app):
        raise RuLLMError("plugin 'broken' needs the setting BROKEN_HOME", hint="export BROKEN_HOME=/somewhere")

    command_plugin("broken", broken)
    with pytest.raises(SystemExit) as exited:
        main(["models"])
    assert exited.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "Error: plugin 'broken' needs the setting BROKEN_HOME (hint: export BROKEN_HOME=/somewhere)\n"


def test_main_reports_a_crashing_plugin_as_a_plugin_error(capsys, command_plugin):
    def crashing(app):
        raise ValueError("boom")

    command_plugin("crashing", crashing)
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("Error: plugin 'crashing' failed in register_commands: ValueError: boom")
    assert "hint:" in err


def test_main_reports_a_command_clash(capsys, command_plugin):
    import typer

    def add_models(app):
        app.command("models")(lambda: typer.echo("mine"))

    command_plugin("clashing", add_models)
    with pytest.raises(SystemExit) as exited:
        main(["models"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: plugin 'clashing' adds the command 'models'")
    assert len(err.splitlines()) == 1


def test_main_with_debug_raises_the_plugin_error(monkeypatch, command_plugin):
    def broken(app):
        raise RuLLMError("broken on purpose")

    command_plugin("broken", broken)
    monkeypatch.setenv("RU_LLM_DEBUG", "1")
    with pytest.raises(RuLLMError, match="broken on purpose"):
        main(["models"])


def test_main_with_debug_wraps_a_crashing_plugin(monkeypatch, command_plugin):
    def crashing(app):
        raise ValueError("boom")

    command_plugin("crashing", crashing)
    monkeypatch.setenv("RU_LLM_DEBUG", "1")
    with pytest.raises(PluginError) as caught:
        main(["models"])
    assert isinstance(caught.value.__cause__, ValueError)
