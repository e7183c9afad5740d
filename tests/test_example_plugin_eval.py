"""The example plugin's evaluation model kind, installed into a fresh virtual environment and run through ``ru-llm``.

The ru-llm packages and the example are built and installed (not editable) with ``uv pip install --offline``
from uv's cache, so the plugin is found the way a user's would be: through its installed entry point.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

PACKAGES = ("core", "dataset", "translate", "tokenize", "train", "eval", "cli")
EXAMPLE = REPO / "examples" / "ru-llm-plugin-example"
MMLU_DATA = REPO / "tests" / "data" / "mmlu"


def _uv() -> str:
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        pytest.skip("uv is not on PATH")
    return uv


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A new virtual environment with the ru-llm packages and the example installed, and its environment."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env |= {"HF_HUB_OFFLINE": "1", "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("RU_LLM_DISABLE_PLUGIN_AUTOLOAD", None)
    env.pop("RU_LLM_LOAD_PLUGINS", None)
    subprocess.run([_uv(), "venv", "-q", str(venv), "--python", sys.executable], check=True, env=env)
    sources = [str(REPO / "packages" / name) for name in PACKAGES] + [str(EXAMPLE)]
    install = [
        _uv(),
        "pip",
        "install",
        "-q",
        "--offline",
        "--link-mode=hardlink",
        "--python",
        str(venv / "bin" / "python"),
    ]
    done = subprocess.run([*install, *sources], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv, env


def _ru_llm(fresh_env: tuple[Path, dict[str, str]], *args: object) -> subprocess.CompletedProcess[str]:
    venv, env = fresh_env
    return subprocess.run(
        [str(venv / "bin" / "ru-llm"), *map(str, args)], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_the_example_model_kind_is_listed_and_evaluates_mmlu_through_the_cli(
    fresh_env: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    venv, _ = fresh_env
    installed = list((venv / "lib").glob("python*/site-packages/ru_llm_plugin_example-0.1.0.dist-info"))
    assert installed and not (installed[0] / "direct_url.json").read_text().count('"editable": true')
    listed = _ru_llm(fresh_env, "eval", "models", "--json")
    assert listed.returncode == 0, listed.stderr
    kinds = {row["name"]: row["plugin"] for row in json.loads(listed.stdout)}
    assert kinds["example-fixed"] == "example_eval"
    assert {"hf", "openai-chat", "openai-completions"} <= set(kinds)

    out = tmp_path / "r.json"
    run = _ru_llm(fresh_env, "eval", "run", "mmlu", "--model-kind", "example-fixed", "--model", "fixed",
                  "--model-option", "choice=1", "--data", MMLU_DATA, "--shots", "0", "--out", out)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    task = results["tasks"]["mmlu"]
    assert task["counts"]["scored"] == len(task["items"]) > 0
    assert {item["prediction"] for item in task["items"]} == {"B"}  # continuation 1 of every question
    gold_b = sum(item["gold"] == "B" for item in task["items"]) / len(task["items"])
    assert task["metrics"]["accuracy"] == pytest.approx(gold_b)
    assert results["model"]["device"] == "cpu" and results["model"]["dtype"] is None

    bad = _ru_llm(fresh_env, "eval", "run", "mmlu", "--model-kind", "example-fixed", "--model", "fixed",
                  "--model-option", "temperature=1", "--data", MMLU_DATA, "--out", tmp_path / "bad.json")  # fmt: skip
    assert bad.returncode == 1
    assert "--model-option temperature: example-fixed takes only choice" in bad.stderr
