"""One fresh virtual environment with the ru-llm packages and the example plugin installed, for the tests
that run ``ru-llm`` from it (test_example_plugin_eval.py, test_example_plugin_strategy.py).

It is built once per run into the directory every xdist worker sees, under a file lock (the first test to
ask builds it, the others reuse it); nothing that uses it installs anything into it. ``uv pip install``
writes no bytecode (pip compiles it at install), and with ``PYTHONDONTWRITEBYTECODE`` set every ``ru-llm``
process run from the environment compiled each module it imported: ~11 of the ~23 CPU-seconds of a tiny
``ru-llm train run``. The installed files are hard links to the same files in uv's cache as this test
environment's own, so the ``__pycache__`` folders of this environment are linked in beside them: Python
uses a ``.pyc`` only when the source's recorded modification time and size match, else it compiles.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import REPO, shared_dir

PACKAGES = ("core", "dataset", "translate", "tokenize", "train", "eval", "cli")
EXAMPLE = REPO / "examples" / "ru-llm-plugin-example"


def example_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """``(venv, env)``: the environment's folder and the process environment to run its ``ru-llm`` in."""
    from filelock import FileLock

    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        pytest.skip("uv is not on PATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RU_LLM_", "VIRTUAL_ENV"))}
    env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env |= {"HF_HUB_OFFLINE": "1", "COLUMNS": "200", "NO_COLOR": "1"}
    root = shared_dir(tmp_path_factory, "example-venv")
    venv = root / "venv"
    with FileLock(str(root / "venv.lock")):
        if not (root / "ready").is_file():
            shutil.rmtree(venv, ignore_errors=True)  # a build that failed half-way
            _build(uv, venv, env)
            (root / "ready").write_text("", encoding="utf-8")
    return venv, env


def _build(uv: str, venv: Path, env: dict[str, str]) -> None:
    subprocess.run([uv, "venv", "-q", str(venv), "--python", sys.executable], check=True, env=env, timeout=120)
    sources = [str(REPO / "packages" / name) for name in PACKAGES] + [str(EXAMPLE)]
    install = [uv, "pip", "install", "-q", "--link-mode=hardlink", "--python", str(venv / "bin" / "python")]
    done = subprocess.run([*install, "--offline", *sources], env=env, capture_output=True, text=True)
    if done.returncode != 0:  # not everything in the local cache: from the index
        subprocess.run([*install, *sources], check=True, env=env, timeout=900)
    [site] = (venv / "lib").glob("python*/site-packages")
    link_bytecode(Path(sysconfig.get_paths()["purelib"]), site)


def link_bytecode(source_site: Path, site: Path) -> int:
    """Hard-link each ``__pycache__`` file of ``source_site`` into the same folder under ``site`` where that
    folder's package is installed too; how many were linked (0 when the two are on different disks)."""
    linked = 0
    for folder, dirs, files in os.walk(source_site):
        if os.path.basename(folder) != "__pycache__":
            continue
        dirs.clear()
        target = site / os.path.relpath(folder, source_site)
        if not target.parent.is_dir():  # a package this environment does not have
            continue
        target.mkdir(exist_ok=True)
        for name in files:
            if not name.endswith(".pyc") or (target / name).exists():
                continue
            try:
                os.link(os.path.join(folder, name), target / name)
            except OSError:  # another disk, or links not allowed: Python compiles as before
                return linked
            linked += 1
    return linked
