"""Data pipelines, one per data kind: how a run's data becomes what the trainer sees, and its preview.

A strategy names its pipeline with ``data_kind``; training (``ru-llm train run``) and the preview
(``ru-llm train preview``) both go through the pipeline registered under that name, so they cannot
disagree. The built-ins (``conversations``, ``text``, ``preferences``) are registered through the
``register_data_pipelines`` hook, as a plugin's own are.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ru_llm.core.plugins import hookimpl

if TYPE_CHECKING:
    from ru_llm.core.families import ModelFamily
    from ru_llm.core.jsonl import Reject
    from ru_llm.train.config import RunConfig
    from ru_llm.train.data.encode import Sample
    from ru_llm.train.datasets import PreparedData


@runtime_checkable
class DataPipeline(Protocol):
    """How the runs of one data kind read, encode and preview their data."""

    #: the data kind, as strategies name it in ``data_kind``
    name: str
    description: str

    def inputs(self, config: RunConfig) -> list[Path]:
        """Check the pipeline's own inputs before any model library loads (raise ``ConfigError``); return the
        local files and directories it will read (the output directory must not hold them)."""
        ...

    def check(self, config: RunConfig, model_config: Any) -> None:
        """Refuse what this data cannot do with this model (e.g. packing), once the model's config is read."""
        ...

    def settings_shown(self, config: RunConfig) -> set[str]:
        """The settings blocks this pipeline reads (``cpt`` for the corpora): the model card shows them."""
        ...

    def prepare(
        self,
        config: RunConfig,
        family: ModelFamily,
        tokenizer: Any,
        on_reject: Callable[[Reject], object],
        console: Any,
    ) -> PreparedData:
        """The training (and validation) sets as the trainer takes them; nothing usable is a ``ConfigError``.
        ``console``: a rich console for progress and the summary table, or ``None``."""
        ...

    def preview(
        self, config: RunConfig, family: ModelFamily, tokenizer: Any, count: int, rejects: list[Reject]
    ) -> list[Sample]:
        """The first ``count`` samples as the trainer sees them (input ids and labels); rejects appended."""
        ...


class ConversationPipeline:
    """Chat data (``data``) through the run's template, assistant tokens trained, optionally packed."""

    name = "conversations"
    description = "conversations through a chat template (data:), optionally packed"

    def inputs(self, config: RunConfig) -> list[Path]:
        return []

    def check(self, config: RunConfig, model_config: Any) -> None:
        if config.packing:
            from ru_llm.train.packing_support import check_packing_support

            check_packing_support(config, model_config)

    def settings_shown(self, config: RunConfig) -> set[str]:
        return set()

    def prepare(
        self,
        config: RunConfig,
        family: ModelFamily,
        tokenizer: Any,
        on_reject: Callable[[Reject], object],
        console: Any,
    ) -> PreparedData:
        from ru_llm.train.datasets import prepare_conversations

        return prepare_conversations(config, family, tokenizer, on_reject, console)

    def preview(
        self, config: RunConfig, family: ModelFamily, tokenizer: Any, count: int, rejects: list[Reject]
    ) -> list[Sample]:
        from ru_llm.train.datasets import preview_conversations

        return preview_conversations(config, family, tokenizer, count, rejects)


class TextPipeline:
    """Raw-text corpora (``cpt.corpora``) mixed by weight into blocks of ``max_length``; every token trained.
    Without corpora, the run's ``data`` is read as conversations."""

    name = "text"
    description = "raw-text corpora mixed by weight (cpt.corpora), or conversations (data:) without them"
    conversations = ConversationPipeline()

    def inputs(self, config: RunConfig) -> list[Path]:
        from ru_llm.train.data.text import check_corpus

        found = []
        for corpus in config.cpt.corpora:
            check_corpus(corpus)
            if not corpus.path.startswith("hf:"):
                found.append(Path(corpus.path).expanduser())
        return found

    def check(self, config: RunConfig, model_config: Any) -> None:
        if not config.cpt.corpora:
            self.conversations.check(config, model_config)

    def settings_shown(self, config: RunConfig) -> set[str]:
        return {"cpt"} if config.cpt.corpora else set()

    def prepare(
        self,
        config: RunConfig,
        family: ModelFamily,
        tokenizer: Any,
        on_reject: Callable[[Reject], object],
        console: Any,
    ) -> PreparedData:
        if not config.cpt.corpora:
            return self.conversations.prepare(config, family, tokenizer, on_reject, console)
        from ru_llm.train.datasets import prepare_text

        return prepare_text(config, tokenizer, console)

    def preview(
        self, config: RunConfig, family: ModelFamily, tokenizer: Any, count: int, rejects: list[Reject]
    ) -> list[Sample]:
        if not config.cpt.corpora:
            return self.conversations.preview(config, family, tokenizer, count, rejects)
        from ru_llm.train.datasets import preview_text

        return preview_text(config, tokenizer, count)


class PreferencePipeline:
    """Chosen/rejected pairs through the run's template: a ``datasets.Dataset`` of ``prompt_ids``,
    ``chosen_ids`` and ``rejected_ids`` (what TRL's preference trainers take); no perplexity."""

    name = "preferences"
    description = "chosen/rejected pairs through a chat template (data:), for preference tuning"

    def inputs(self, config: RunConfig) -> list[Path]:
        return []

    def check(self, config: RunConfig, model_config: Any) -> None:
        return None

    def settings_shown(self, config: RunConfig) -> set[str]:
        return {"dpo"}  # dpo.max_prompt_length

    def prepare(
        self,
        config: RunConfig,
        family: ModelFamily,
        tokenizer: Any,
        on_reject: Callable[[Reject], object],
        console: Any,
    ) -> PreparedData:
        from ru_llm.train.datasets import prepare_preferences

        return prepare_preferences(config, family, tokenizer, on_reject, console)

    def preview(
        self, config: RunConfig, family: ModelFamily, tokenizer: Any, count: int, rejects: list[Reject]
    ) -> list[Sample]:
        from ru_llm.train.datasets import preview_pairs

        return preview_pairs(config, family, tokenizer, count, rejects)


@hookimpl
def register_data_pipelines(register: Callable[..., object]) -> None:
    register(ConversationPipeline())
    register(TextPipeline())
    register(PreferencePipeline())
