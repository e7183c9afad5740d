"""Helpers shared by the backends: options, model paths, language codes, output budgets.

Nothing heavy is imported here; the callers import torch / transformers / ctranslate2 themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ru_llm.core import ConfigError, RuLLMError
from ru_llm.translate.backends.base import Decoding, LoadedTranslator

LOCAL_MODEL_HINT = "download the model where the hub is reachable and load it from that local directory"


def take_options(backend: str, options: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``options``; an unknown option is a :class:`ConfigError` naming it."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ConfigError(
            f"backend {backend!r} has no option {unknown[0]!r}",
            hint=f"its options are: {', '.join(sorted(defaults)) or '(none)'}",
        )
    return {**defaults, **options}


def _as_number(kind: type, what: str, backend: str, key: str, value: Any, minimum: float) -> Any:
    """An ``int`` or ``float`` option (options may come from the command line as strings)."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"backend {backend!r} option {key!r} must be {what}, not {value!r}") from None
    if number < minimum:
        raise ConfigError(f"backend {backend!r} option {key!r} must be at least {minimum}, not {number}")
    return number


def as_int(backend: str, key: str, value: Any, minimum: int = 0) -> int:
    return _as_number(int, "an integer", backend, key, value, minimum)


def as_float(backend: str, key: str, value: Any, minimum: float = 0.0) -> float:
    return _as_number(float, "a number", backend, key, value, minimum)


def looks_like_path(model: str) -> bool:
    """True for what can only be a local path (a hub id is ``name`` or ``org/name``)."""
    return model.startswith(("/", ".", "~")) or model.count("/") > 1 or os.sep in model.replace("/", "")


def resolve_model(backend: str, model: str | None, default: str | None) -> tuple[str, Path | None]:
    """``(model_id, local_dir)``: a local directory resolved to its absolute path, or a hub id.

    A path that does not exist is an error here, before any library tries the hub with it.
    """
    model = model or default
    if not model:
        raise ConfigError(f"backend {backend!r} needs a model", hint="give a local model directory or a hub id")
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve()), path.resolve()
    if path.exists() or looks_like_path(model):
        what = "is not a directory" if path.exists() else "does not exist"
        raise RuLLMError(f"model directory {model} {what}", hint=f"give an existing directory ({LOCAL_MODEL_HINT})")
    return model, None


def load_error(
    backend: str, model: str, error: BaseException, *, verb: str = "load", hint: str = LOCAL_MODEL_HINT
) -> RuLLMError:
    """A one-line :class:`RuLLMError` for a model that could not be loaded (or converted: ``verb``)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    if len(reason) > 300:
        reason = reason[:297] + "..."
    return RuLLMError(f"backend {backend!r} cannot {verb} model {model!r}: {reason}", hint=hint)


# -- languages ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LanguageCodes:
    """How a seq2seq model is told the languages: tokenizer settings and the forced first target token."""

    #: ``"m2m100"`` (``__en__`` / ``__ru__``), ``"nllb"`` (``eng_Latn`` / ``rus_Cyrl``) or ``"none"`` (Marian)
    scheme: str
    src_lang: str | None = None
    #: the token the decoder must start with (``forced_bos_token_id`` in HF, the target prefix in ct2)
    target_token: str | None = None


NLLB_SOURCE, NLLB_TARGET = "eng_Latn", "rus_Cyrl"


def language_codes(tokenizer: Any) -> LanguageCodes:
    """The language scheme of ``tokenizer`` (M2M100 and WMT21, NLLB, or none for bilingual Marian)."""
    if hasattr(tokenizer, "get_lang_id") and hasattr(tokenizer, "get_lang_token"):
        return LanguageCodes("m2m100", "en", tokenizer.get_lang_token("ru"))
    unk = getattr(tokenizer, "unk_token_id", None)
    if tokenizer.convert_tokens_to_ids(NLLB_TARGET) not in (None, unk):
        return LanguageCodes("nllb", NLLB_SOURCE, NLLB_TARGET)
    return LanguageCodes("none")


def prepare_tokenizer(tokenizer: Any, codes: LanguageCodes) -> Any:
    """Set the source (and target) language on a multilingual tokenizer, so inputs carry ``__en__``."""
    if codes.src_lang is not None:
        tokenizer.src_lang = codes.src_lang
    if codes.scheme == "m2m100":
        tokenizer.tgt_lang = "ru"
    elif codes.scheme == "nllb":
        tokenizer.tgt_lang = NLLB_TARGET
    return tokenizer


# -- outputs ----------------------------------------------------------------------------------------
def budgets(input_tokens: Sequence[int], decoding: Decoding, cap: int | None) -> list[int]:
    """Each segment's output budget in tokens (at least 1)."""
    return [max(1, decoding.max_new_tokens(n, cap)) for n in input_tokens]


def cut_output(tokens: Sequence[Any], eos: Any, budget: int) -> tuple[list[Any], bool]:
    """``(content, hit_cap)``: the tokens before EOS, cut at ``budget``; hit_cap when no EOS came in time.

    The batch is generated with the largest budget of its segments, so a segment's own budget is
    applied here; under greedy search this is exactly what a batch of one would give.
    """
    tokens = list(tokens)
    if eos in tokens[:budget]:
        return tokens[: tokens.index(eos)], False
    return tokens[:budget], len(tokens) >= budget


def with_settings(model_id: str, **settings: Any) -> str:
    """``model_id`` plus the settings that change outputs (``None`` ones are left out)."""
    shown = [f"{k}={v}" for k, v in settings.items() if v is not None]
    return f"{model_id} [{', '.join(shown)}]" if shown else model_id


class TokenizedTranslator(LoadedTranslator):
    """A translator that encodes with an HF tokenizer, every segment behind ``prefix`` (a domain tag)."""

    tokenizer: Any
    prefix: str

    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer([self.prefix + t for t in texts], add_special_tokens=True)["input_ids"]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self._encode(texts)]
