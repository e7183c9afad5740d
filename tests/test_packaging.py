"""The packaging facts CI relies on: .ci/packages checks every package, each optional import names an extra that
exists, siblings depend on each other by a range that admits the sibling's version, each package has a README."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent
PYPROJECTS = sorted(ROOT.glob("packages/*/pyproject.toml"))
PROJECTS = {path.parent.name: tomllib.loads(path.read_text(encoding="utf-8"))["project"] for path in PYPROJECTS}
BY_NAME = {project["name"]: project for project in PROJECTS.values()}


def shell_array(name: str) -> list[str]:
    """The words of ``NAME=(...)`` in .ci/packages."""
    found = re.search(rf"^{name}=\(([^)]*)\)", (ROOT / ".ci" / "packages").read_text(encoding="utf-8"), re.MULTILINE)
    assert found, f".ci/packages has no {name}=(...)"
    return found.group(1).split()


def test_the_ci_check_covers_every_package() -> None:
    packages = shell_array("PACKAGES")
    assert len(packages) == len(set(packages))
    assert sorted(packages) == sorted(BY_NAME)
    assert set(shell_array("NO_TORCH")) <= set(packages)
    assert {"ru-llm-dataset", "ru-llm-translate"} <= set(shell_array("NO_TORCH"))


def optional_imports() -> list[tuple[str, int, str, str]]:
    """``(file, line, package, extra)`` of every ``require(..., package=, extra=)`` and ``require_datasets`` call."""
    found = []
    for path in sorted(ROOT.glob("packages/*/src/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            keywords = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            if node.func.id == "require_datasets":
                keywords = {"package": "ru-llm-dataset", "extra": "hf", **keywords}
            elif node.func.id != "require" or "package" not in keywords:
                continue
            found.append((str(path.relative_to(ROOT)), node.lineno, keywords["package"], keywords["extra"]))
    return found


def test_every_optional_import_names_an_extra_that_exists() -> None:
    sites = optional_imports()
    assert len(sites) >= 10  # the walk found the guards (deepspeed, trl, datasets, pyarrow, lm-eval, ...)
    missing = [
        f"{file}:{line}: {package}[{extra}]"
        for file, line, package, extra in sites
        if extra not in BY_NAME[package].get("optional-dependencies", {})
    ]
    assert not missing, missing


def test_siblings_depend_on_each_other_by_a_range_that_admits_the_sibling() -> None:
    for project in PROJECTS.values():
        extras = project.get("optional-dependencies", {}).values()
        for line in [*project["dependencies"], *(r for group in extras for r in group)]:
            requirement = Requirement(line)
            if requirement.name not in BY_NAME or requirement.name == project["name"]:
                continue
            version = Version(BY_NAME[requirement.name]["version"])
            assert requirement.specifier.contains(version), f"{project['name']}: {line} excludes {version}"
            operators = {spec.operator for spec in requirement.specifier}
            assert operators == {">=", "<"}, f"{project['name']}: {line} is not a >=,< range (docs/versioning.md)"


@pytest.mark.parametrize("folder", sorted(PROJECTS))
def test_each_package_has_a_real_readme(folder: str) -> None:
    name = PROJECTS[folder]["name"]
    text = (ROOT / "packages" / folder / PROJECTS[folder]["readme"]).read_text(encoding="utf-8")
    assert f"pip install {name}" in text or f'pip install "{name}[' in text
    assert "```python" in text, f"{name}'s README shows no Python example"
    assert len(text.splitlines()) >= 20
