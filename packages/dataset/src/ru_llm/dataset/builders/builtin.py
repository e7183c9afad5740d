"""Built-in dataset builders, registered through ``register_dataset_builders`` like any plugin's."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.plugins import hookimpl
from ru_llm.dataset.builders.chip2 import Chip2Builder
from ru_llm.dataset.builders.copy import CopyBuilder
from ru_llm.dataset.builders.dolly import DollyBuilder
from ru_llm.dataset.builders.file import FileBuilder
from ru_llm.dataset.builders.oasst import OasstBuilder
from ru_llm.dataset.builders.oasst_pairs import OasstPairsBuilder
from ru_llm.dataset.builders.preference import PreferenceBuilder, UltraFeedbackBinarizedBuilder
from ru_llm.dataset.builders.saiga import (
    GptRoleplayRealmBuilder,
    Oasst1RuMainBranchBuilder,
    RuInstructGpt4Builder,
    RuShareGptCleanedBuilder,
    RuTurboAlpacaBuilder,
    RuTurboAlpacaEvolInstructBuilder,
    RuTurboSaigaBuilder,
)

BUILTIN_BUILDERS = (
    DollyBuilder,
    OasstBuilder,
    Chip2Builder,
    RuTurboAlpacaBuilder,
    RuTurboSaigaBuilder,
    RuShareGptCleanedBuilder,
    Oasst1RuMainBranchBuilder,
    GptRoleplayRealmBuilder,
    RuTurboAlpacaEvolInstructBuilder,
    RuInstructGpt4Builder,
    FileBuilder,
    CopyBuilder,
    PreferenceBuilder,
    UltraFeedbackBinarizedBuilder,
    OasstPairsBuilder,
)


@hookimpl
def register_dataset_builders(register: Callable[..., object]) -> None:
    for builder_class in BUILTIN_BUILDERS:
        register(builder_class())
