"""The import-layer contracts (.importlinter): kept by the workspace, and strict about function-level imports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")


def lint_imports(cwd: Path, *args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(autouse=True)
def _needs_import_linter() -> None:
    if not Path(LINT_IMPORTS).exists():
        pytest.skip("import-linter is not installed (the dev group has it)")


def test_the_workspace_keeps_every_contract() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-3000:]
    for package in ("core", "dataset", "translate", "tokenize", "train", "eval", "cli"):
        assert f"no import loops inside ru_llm.{package} KEPT" in result.stdout


def test_a_loop_hidden_in_a_function_level_import_breaks_the_contract(tmp_path: Path) -> None:
    package = tmp_path / "src" / "loopy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "run.py").write_text("from loopy.trainer import fit\n\n\ndef use_bf16():\n    return True\n")
    (package / "trainer.py").write_text("def fit():\n    from loopy.run import use_bf16\n\n    return use_bf16()\n")
    config = "[importlinter]\nroot_package = loopy\n\n[importlinter:contract:acyclic]\nname = no loops\n"
    config += "type = acyclic_siblings\nancestors =\n    loopy\n"
    (tmp_path / ".importlinter").write_text(config)
    broken = lint_imports(tmp_path, pythonpath=tmp_path / "src")
    assert broken.returncode == 1 and "no loops BROKEN" in broken.stdout, broken.stdout
    (package / "trainer.py").write_text("def fit():\n    return True\n")
    assert lint_imports(tmp_path, pythonpath=tmp_path / "src").returncode == 0
