"""ru-llm-dataset: dataset builders, template formatters, mixing, dedup, licence lineage."""

# The templates subpackage first: a submodule imported for the first time binds its name in this package,
# which would replace the registry function ``templates`` imported below.
import ru_llm.dataset.templates  # noqa: F401
from ru_llm.core.plugins import add_package
from ru_llm.dataset.registry import dataset_builders, get_dataset_builder, get_template, templates
from ru_llm.dataset.templates import Segment, Template, render_text

add_package(
    "ru-llm-dataset",
    hookspecs="ru_llm.dataset.hookspecs",
    builtins=("ru_llm.dataset.templates.builtin", "ru_llm.dataset.builders.builtin"),
)

__all__ = [
    "Segment",
    "Template",
    "dataset_builders",
    "get_dataset_builder",
    "get_template",
    "render_text",
    "templates",
]
