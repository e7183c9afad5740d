"""An evaluation model kind, ``example-fixed``: a deterministic stand-in for a model, registered through
``register_eval_models`` (its own entry point, ``example_eval``, in this distribution's pyproject.toml).

``ru-llm eval run mmlu --model-kind example-fixed --model anything --model-option choice=1 --data DIR`` picks
continuation ``choice`` of every question (``B`` for MMLU), so the accuracy is the share of gold answers
that are ``B``: a baseline to check a task's scoring against, without weights. It also answers rolling
log-likelihoods (-1 per whitespace-separated word) and generations (the prompt's last line).
Importing this module has no side effects and imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ru_llm.core import ConfigError, hookimpl

OPTIONS = ("choice",)


class FixedChoiceModel:
    """Log-probability 0 for continuation ``choice`` of every request, -10 for the others."""

    device = "cpu"
    max_length = None
    stats = None

    def __init__(self, choice: int) -> None:
        self.choice = choice

    def describe(self) -> dict[str, Any]:
        return {"dtype": None, "prefix_cache": None}

    def identity(self) -> dict[str, Any]:
        return {"model": "example-fixed", "choice": self.choice}

    def fits(self, text: str) -> bool:
        return True

    def loglikelihood(self, requests: Sequence[Any], progress: Callable[[int], None]) -> list[list[float]]:
        progress(len(requests))
        return [[0.0 if i == self.choice else -10.0 for i in range(len(r.continuations))] for r in requests]

    def loglikelihood_rolling(self, requests: Sequence[Any], progress: Callable[[int], None]) -> list[Any]:
        progress(len(requests))
        return [(-float(len(r.text.split())), len(r.text.split())) for r in requests]

    def generate(self, requests: Sequence[Any], progress: Callable[[int], None]) -> list[Any]:
        from ru_llm.eval.task import Generation

        progress(len(requests))
        return [Generation(r.prompt.rstrip().rsplit("\n", 1)[-1], seconds=0.0, tokens=0) for r in requests]


class FixedChoiceKind:
    name = "example-fixed"
    description = "example plugin: always picks continuation --model-option choice=N (default 0); no weights"

    def check(self, settings: Any) -> None:
        self._choice(settings)

    def load(self, settings: Any) -> FixedChoiceModel:
        return FixedChoiceModel(self._choice(settings))

    @staticmethod
    def _choice(settings: Any) -> int:
        unknown = [key for key in settings.options if key not in OPTIONS]
        if unknown:
            raise ConfigError(f"--model-option {unknown[0]}: example-fixed takes only {', '.join(OPTIONS)}")
        choice = settings.options.get("choice", 0)
        if not isinstance(choice, int) or isinstance(choice, bool) or choice < 0:
            raise ConfigError(f"--model-option choice={choice!r}: expected a whole number, 0 or more")
        return choice


@hookimpl
def register_eval_models(register: Callable[..., object]) -> None:
    register(FixedChoiceKind())
