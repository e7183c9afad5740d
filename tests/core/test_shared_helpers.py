"""The small pieces the packages share through core: the ignored label, installed versions, the datasets guard."""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
import sys

import pytest

from ru_llm.core.deps import require_datasets
from ru_llm.core.errors import ConfigError
from ru_llm.core.labels import IGNORE_INDEX
from ru_llm.core.versions import environment_versions, installed_versions


def test_ignore_index_is_the_one_cross_entropy_skips() -> None:
    torch = pytest.importorskip("torch")
    logits = torch.tensor([[5.0, 0.0], [0.0, 5.0]])
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, IGNORE_INDEX]))
    only_first = torch.nn.functional.cross_entropy(logits[:1], torch.tensor([0]))
    assert torch.allclose(loss, only_first)


def test_every_package_uses_the_one_constant() -> None:
    modules = ("ru_llm.dataset.templates", "ru_llm.dataset.templates.labels", "ru_llm.dataset.render",
               "ru_llm.train.data.encode", "ru_llm.train.strategies.reference_free")  # fmt: skip
    assert all(importlib.import_module(name).IGNORE_INDEX is IGNORE_INDEX for name in modules)
    assert IGNORE_INDEX == -100


def test_installed_versions_keep_order_and_mark_missing() -> None:
    found = installed_versions(["ru-llm-core", "no-such-distribution-xyz", "pluggy"])
    assert list(found) == ["ru-llm-core", "no-such-distribution-xyz", "pluggy"]
    assert found["ru-llm-core"] == importlib.metadata.version("ru-llm-core")
    assert found["no-such-distribution-xyz"] is None


def test_environment_versions_lead_with_python_and_leave_out_the_missing() -> None:
    found = environment_versions(["pluggy", "no-such-distribution-xyz"])
    assert found == {"python": platform.python_version(), "pluggy": importlib.metadata.version("pluggy")}


@pytest.fixture
def without_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # `import datasets` now raises ImportError


@pytest.mark.usefixtures("without_datasets")
@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({}, 'pip install "ru-llm-dataset[hf]"'),
        ({"package": "ru-llm-eval"}, 'pip install "ru-llm-eval[hf]"'),
        ({"package": "ru-llm-tokenize", "extra": "datasets"}, 'pip install "ru-llm-tokenize[datasets]"'),
    ],
)
def test_require_datasets_names_the_extra_of_the_package_that_needs_it(kwargs: dict, hint: str) -> None:
    with pytest.raises(ConfigError) as e:
        require_datasets("mmlu from the hub", **kwargs)
    assert e.value.message.startswith("mmlu from the hub needs datasets, which is not installed")
    assert e.value.hint == hint


def test_require_datasets_returns_the_module_when_installed() -> None:
    pytest.importorskip("datasets")
    assert require_datasets("anything").load_dataset
