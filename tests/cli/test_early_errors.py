"""Check first, import later: each typical mistake is one line before torch or transformers is imported."""

from __future__ import annotations

from pathlib import Path

import pytest
from kit.early_errors import mistakes, run

EXPECTED = {
    "train: missing model": "no-such-model: no such directory",
    "train: model without tokenizer": "no-tokenizer: no tokenizer files",
    "train: missing data": "no-such.jsonl: no such file or directory",
    "train: used output dir": "already exists and is not empty",
    "train: bad key": "unknown key 'lora.rr'",
    "train: unknown template": "unknown template 'chatmk'",
    "eval: missing model": "no-such-model: no such directory",
    "eval: model without tokenizer": "no-tokenizer: no tokenizer files",
    "eval: unknown task": "unknown task 'mmlux'",
    "eval: missing data": "no test data found",
    "dataset build: missing recipe": "no such recipe file",
}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory, tiny_model) -> tuple[Path, dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("mistakes")
    return root, mistakes(root, tiny_model("llama"))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_a_typical_mistake_answers_before_any_heavy_import(cases, name: str) -> None:
    root, found = cases
    result = run(found[name], cwd=root)
    assert result["exit_code"] == 1, result["stderr"]
    lines = [line for line in result["stderr"].strip().split("\n") if line.strip()]
    assert len(lines) == 1 and EXPECTED[name] in lines[0], result["stderr"]
    assert result["heavy"] == [], f"{name}: imported {result['heavy']} before the error"
