"""Make a plugin visible to ``importlib.metadata`` as a real installed distribution, offline.

A ``<name>-<version>.dist-info`` folder with ``METADATA`` and ``entry_points.txt`` on ``sys.path`` is
exactly what an installer leaves behind, so entry-point discovery runs its real code path without
touching the shared virtual environment.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import tomllib


def write_distribution(
    site: Path,
    name: str,
    version: str,
    entry_points: dict[str, str],
    *,
    modules: dict[str, str] | None = None,
) -> Path:
    """Write a dist-info for ``name`` with ``ru_llm`` entry points (and optional module sources)."""
    site.mkdir(parents=True, exist_ok=True)
    dist_info = site / f"{re.sub(r'[-.]+', '_', name)}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = ["[ru_llm]", *(f"{ep} = {target}" for ep, target in entry_points.items())]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(source)
    return site


def expose_project(project: Path, site: Path) -> list[Path]:
    """A dist-info for a source project (name, version, entry points read from its pyproject).

    Returns the folders to put on ``sys.path`` / ``PYTHONPATH``: the dist-info's and ``project/src``.
    """
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    write_distribution(site, meta["name"], meta["version"], meta["entry-points"]["ru_llm"])
    return [site, project / "src"]


def put_on_path(monkeypatch: pytest.MonkeyPatch, paths: list[Path]) -> None:
    for path in reversed(paths):
        monkeypatch.syspath_prepend(str(path))
    for module in [m for m in sys.modules if m.startswith("ru_llm_plugin_example")]:
        monkeypatch.delitem(sys.modules, module)
