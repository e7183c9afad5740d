"""The example plugin's evaluation model kind, installed into a fresh virtual environment and run through ``ru-llm``.

The ru-llm packages and the example are installed with ``uv pip install --offline`` from uv's cache (the
example built, not editable), so the plugin is found the way a user's would be: through its installed entry
point. The environment is shared with test_example_plugin_strategy.py (tests/example_venv.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import REPO
from example_venv import example_venv

MMLU_DATA = REPO / "tests" / "data" / "mmlu"


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The run's fresh environment with the packages and the example installed (tests/example_venv.py)."""
    return example_venv(tmp_path_factory)


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
