"""The root app: help, versions, package sub-apps, and running as ``python -m ru_llm.cli``."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys

import pytest

from ru_llm.core.plugins import DISABLE_AUTOLOAD_ENV

COMMANDS = ("translate", "dataset", "tokenize", "train", "eval", "chat", "plugins", "models")
DISTRIBUTIONS = (
    "ru-llm",
    "ru-llm-core",
    "ru-llm-dataset",
    "ru-llm-translate",
    "ru-llm-tokenize",
    "ru-llm-train",
    "ru-llm-eval",
)


def listed_commands(help_text: str) -> set[str]:
    """Command names in the rich help panels (``│ name   description │`` rows)."""
    return set(re.findall(r"^│ ([a-z][a-z0-9-]*) {2,}\S", help_text, flags=re.MULTILINE))


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_every_command(invoke, flag):
    result = invoke([flag])
    assert result.exit_code == 0, result.output
    assert "Usage: ru-llm" in result.stdout
    assert listed_commands(result.stdout) >= set(COMMANDS)
    assert result.stderr == ""


def test_help_groups_commands_into_panels(invoke):
    panel = None
    panels: dict[str, str] = {}
    for line in invoke(["--help"]).stdout.splitlines():
        if title := re.match(r"^╭─ (\w+) ─", line):
            panel = title.group(1)
        elif command := re.match(r"^│ ([a-z]+) {2,}\S", line):
            panels[command.group(1)] = panel
    assert panels == {
        "plugins": "Toolkit",
        "models": "Toolkit",
        **dict.fromkeys(("translate", "dataset", "tokenize", "train", "eval", "chat"), "Pipeline"),
    }


def test_no_arguments_shows_help(invoke):
    result = invoke([])
    # no_args_is_help: click shows the help and exits 2 (a usage error), but nothing crashes
    assert result.exit_code in (0, 2)
    assert "Usage: ru-llm" in result.output
    assert listed_commands(result.output) >= set(COMMANDS)


def test_version_prints_every_distribution(invoke):
    result = invoke(["--version"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == [f"{dist} {importlib.metadata.version(dist)}" for dist in DISTRIBUTIONS]


def test_version_wins_over_a_command(invoke):
    # --version is eager: it answers before the sub-app runs
    result = invoke(["--version", "translate"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("ru-llm ")


def test_unknown_command_is_a_usage_error(invoke):
    result = invoke(["frobnicate"])
    assert result.exit_code == 2
    assert "frobnicate" in result.stderr
    assert "Traceback" not in result.output


def test_python_dash_m_runs_the_cli():
    env = {**os.environ, DISABLE_AUTOLOAD_ENV: "1"}
    env.pop("RU_LLM_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "ru_llm.cli", "--help"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "translate" in result.stdout


def test_building_the_app_imports_neither_torch_nor_transformers():
    env = {**os.environ, DISABLE_AUTOLOAD_ENV: "1"}
    code = (
        "import sys; from ru_llm.cli.main import main; from ru_llm.cli.app import build_app; build_app(); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr


def test_listing_models_imports_neither_torch_nor_transformers():
    env = {**os.environ, DISABLE_AUTOLOAD_ENV: "1"}
    code = (
        "import sys\n"
        "from ru_llm.cli.main import main\n"
        "try:\n"
        "    main(['models', '--json'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers'))\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"llama"' in result.stdout


@pytest.mark.parametrize(
    ("name", "commands"),
    [
        ("dataset", ("list", "load", "build", "stats", "render")),
        ("translate", ("dolly", "file", "backends", "merge")),
        ("tokenize", ("stats", "extend", "replace", "train", "trainers", "resize-model")),
        ("train", ("run", "preview", "presets", "merge")),
        ("eval", ("run", "tasks", "compare")),
    ],
)
def test_a_package_with_commands_is_mounted_as_a_sub_app(invoke, name, commands):
    result = invoke([name, "--help"])
    assert result.exit_code == 0
    for command in commands:
        assert command in result.stdout


@pytest.mark.parametrize("name", ["train", "replace"])
def test_tokenize_train_and_replace_are_available(invoke, name):
    result = invoke(["tokenize", name, "--help"])
    assert result.exit_code == 0 and "--vocab-size" in result.stdout and "not available" not in result.stdout
