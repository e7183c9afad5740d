"""Importing a package must stay cheap: no torch, transformers or datasets until they are used."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "datasets", "deepspeed", "peft", "sentencepiece", "tokenizers")


def imported_heavy(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.strip().split(",") if m]


@pytest.mark.parametrize("package", ["core", "dataset", "translate", "tokenize", "train", "eval", "cli"])
def test_package_import_is_light(package: str) -> None:
    assert imported_heavy(f"import ru_llm.{package}") == []


def test_building_the_cli_and_every_registry_is_light() -> None:
    code = (
        "from ru_llm.cli.app import build_app; build_app()\n"
        "from ru_llm.core import model_families; model_families()\n"
        "import ru_llm.dataset as d; d.templates(); d.dataset_builders()\n"
        "import ru_llm.translate as t; t.translators()\n"
        "import ru_llm.tokenize as k; k.tokenizer_trainers(); k.embedding_initializers()"
    )
    assert imported_heavy(code) == []


def test_ru_llm_is_a_namespace_package() -> None:
    import ru_llm

    assert getattr(ru_llm, "__file__", None) is None
    assert len(list(ru_llm.__path__)) >= 1


def test_translate_neither_imports_nor_installs_datasets_or_datasketch() -> None:
    """ru-llm-translate depends on ru-llm-dataset; datasets (pyarrow) and datasketch (scipy) are its extras."""
    code = (
        "import ru_llm.translate as t, ru_llm.translate.commands; t.translators()\n"
        "import ru_llm.dataset as d; d.dataset_builders(); d.templates()\n"
        "import sys; print(','.join(m for m in ('datasets', 'datasketch', 'pyarrow', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""

    from importlib.metadata import requires

    from packaging.requirements import Requirement

    def installed_with(distribution: str, extras: frozenset[str] = frozenset()) -> set[str]:
        """The distributions pip installs for ``distribution[extras]``, following ru-llm's own ones."""
        names: set[str] = set()
        for line in requires(distribution) or []:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in {"", *extras}):
                continue
            names.add(req.name)
            if req.name.startswith("ru-llm"):
                names |= installed_with(req.name, frozenset(req.extras))
        return names

    assert not {"datasets", "datasketch", "pyarrow"} & installed_with("ru-llm-translate")
    assert {"datasets", "datasketch"} <= installed_with("ru-llm")  # the CLI asks for the extras
