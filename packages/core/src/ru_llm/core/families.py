"""Base-model families: what the toolkit needs to know about a model architecture.

Families are registered through the ``register_model_families`` hook (the built-ins in
:mod:`ru_llm.core.builtin_families` too) and found by name or from a model's config.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError, RuLLMError, UnknownNameError
from ru_llm.core.plugins import get_plugin_manager
from ru_llm.core.registry import Registry

_MODULE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
_HINT = "run `ru-llm models` to list families; a plugin adds new ones (docs/plugins.md)"


@dataclass(frozen=True)
class ModelFamily:
    """One architecture family, keyed by the HF ``model_type`` values it claims."""

    name: str
    model_types: tuple[str, ...]
    #: module-name suffixes LoRA adapts (PEFT ``target_modules``); the paper used the attention projections
    lora_target_modules: tuple[str, ...]
    #: dotted path of the input embedding module inside the ``*ForCausalLM`` model
    input_embeddings: str = "model.embed_tokens"
    #: dotted path of the output projection
    lm_head: str = "lm_head"
    #: whether input and output embeddings share weights by default (a model's own config decides)
    tied_embeddings: bool = False
    #: template used when the user names none (see ``ru-llm dataset`` templates)
    default_template: str = "hf"
    #: config values that tell this family apart from others claiming the same ``model_type``
    config_match: Mapping[str, Any] = field(default_factory=dict)
    #: token to pad with when the tokenizer defines none (``None``: the tokenizer has its own)
    pad_token: str | None = None
    #: whether the tokenizer puts a start token in front of every encoded text (BOS; XGLM uses </s>)
    adds_bos: bool = True
    #: PEFT ``fan_in_fan_out``: true for GPT-2 style ``Conv1D`` layers that store weights transposed
    lora_fan_in_fan_out: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        for attr in ("model_types", "lora_target_modules", "aliases"):
            value = getattr(self, attr)
            if isinstance(value, str) or not all(isinstance(v, str) and v for v in value):
                raise ConfigError(f"model family {self.name!r}: {attr} must be a tuple of non-empty strings")
            object.__setattr__(self, attr, tuple(value))
        for attr in ("model_types", "lora_target_modules"):
            if not getattr(self, attr):
                raise ConfigError(f"model family {self.name!r}: {attr} must not be empty")
        for attr in ("input_embeddings", "lm_head"):
            if not _MODULE_PATH.match(getattr(self, attr)):
                raise ConfigError(
                    f"model family {self.name!r}: {attr}={getattr(self, attr)!r} is not a dotted module path"
                )
        object.__setattr__(self, "config_match", dict(self.config_match))

    def embeddings_tied(self, config: Any) -> bool:
        """Whether a concrete model ties its embeddings: its config's ``tie_word_embeddings`` wins."""
        value = _config_get(config, "tie_word_embeddings")
        return self.tied_embeddings if value is None else bool(value)

    def match_score(self, config: Any) -> int | None:
        """``None`` if the config is not of this family, else how many ``config_match`` keys agree."""
        if _config_get(config, "model_type") not in self.model_types:
            return None
        for key, expected in self.config_match.items():
            if _config_get(config, key) != expected:
                return None
        return len(self.config_match)


def _config_get(config: Any, key: str) -> Any:
    if isinstance(config, Mapping):
        return config.get(key)
    return getattr(config, key, None)


def model_families() -> Registry[ModelFamily]:
    """Every registered model family (built-ins and plugins)."""
    return get_plugin_manager().registry("register_model_families", "model family", hint=_HINT, expect=ModelFamily)


def get_model_family(name: str) -> ModelFamily:
    """The family registered under ``name`` or one of its aliases."""
    return model_families().get(name)


def load_model_config(path: str | Path) -> dict[str, Any]:
    """Read ``config.json`` from a model directory (or the file itself) without importing transformers."""
    path = Path(path)
    file = path / "config.json" if path.is_dir() else path
    if not file.is_file():
        raise RuLLMError(f"{path}: no config.json found", hint="pass a model directory saved by transformers")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RuLLMError(f"{file}: cannot read the model config: {e}") from e
    if not isinstance(data, dict):
        raise RuLLMError(f"{file}: the model config is not a JSON object")
    return data


def model_family_for(config: Any) -> ModelFamily:
    """The family of a model, from a transformers config, a config mapping, or a model directory.

    When several families claim the config's ``model_type`` (LLaMA-2 and LLaMA-3 both say ``llama``),
    the one whose ``config_match`` agrees on the most keys wins; a tie is an error naming both.
    """
    if isinstance(config, (str, Path)):
        config = load_model_config(config)
    model_type = _config_get(config, "model_type")
    if not model_type:
        raise RuLLMError("the model config has no model_type", hint="is this a transformers model config?")
    families = model_families()
    scored = [(score, fam) for fam in families if (score := fam.match_score(config)) is not None]
    if not scored:
        known_types = sorted({t for fam in families for t in fam.model_types})
        raise UnknownNameError("model_type", model_type, known_types, hint=_HINT)
    best = max(score for score, _ in scored)
    winners = [fam for score, fam in scored if score == best]
    if len(winners) > 1:
        names = ", ".join(repr(f.name) for f in winners)
        raise RuLLMError(
            f"model_type {model_type!r} is claimed equally by families {names}",
            hint="pick one by name, or give one of them a config_match that tells them apart",
        )
    return winners[0]
