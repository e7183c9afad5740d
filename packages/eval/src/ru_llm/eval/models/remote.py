"""``--model openai:NAME --base-url URL``: answers come from an OpenAI-compatible server, no weights load here.

Only tasks that generate their own answers through such a server (the judged benchmarks, which set
``remote_answers = True``) accept it; :func:`ru_llm.eval.run.evaluate` refuses the others up front.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ru_llm.eval.models.hf import ModelSettings

PREFIX = "openai:"


def is_remote(model: str) -> bool:
    return model.startswith(PREFIX)


class RemoteModel:
    """Stands where an :class:`~ru_llm.eval.models.hf.HFEvalModel` would: the settings and a device name."""

    device = "remote"

    def __init__(self, settings: ModelSettings) -> None:
        self.settings = settings
        self.name = settings.model.removeprefix(PREFIX)
