"""Lookups for the things this package's hooks register."""

from __future__ import annotations

from typing import Any

from ru_llm.core.plugins import registry
from ru_llm.core.registry import Registry
from ru_llm.dataset.builders.base import DatasetBuilder
from ru_llm.dataset.template_contract import Template

_HINT = "run `ru-llm plugins` to see what is installed; a plugin adds more (docs/plugins.md)"


def dataset_builders() -> Registry[DatasetBuilder]:
    """Every registered dataset builder."""
    return registry("register_dataset_builders", "dataset builder", hint=_HINT, expect=DatasetBuilder)


def get_dataset_builder(name: str) -> DatasetBuilder:
    return dataset_builders().get(name)


def templates() -> Registry[Any]:
    """Every registered chat template."""
    return registry("register_templates", "template", hint=_HINT, expect=Template)


def get_template(name: str) -> Template:
    return templates().get(name)
