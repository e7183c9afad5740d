"""The template contract: a conversation rendered as ordered ``(text, trainable)`` segments.

Assistant replies and their end-of-turn markers are trainable; everything else is context. Built-in
formats live in ``formats``, Jinja rendering and export in ``jinja``, the tokenizer's own template
in ``hf`` and tokens/labels in ``labels``; their public names are re-exported here lazily, so
importing this package stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# the contract itself lives below this package (see template_contract); these names stay importable from here
from ru_llm.dataset.template_contract import Segment as Segment
from ru_llm.dataset.template_contract import Template as Template
from ru_llm.dataset.template_contract import render_text as render_text

_LAZY = {
    "IGNORE_INDEX": "labels",
    "tokenize_conversation": "labels",
    "tokenize_segments": "labels",
    "tokenize_preference": "preference",
    "PreferenceTokens": "preference",
    "export_chat_template": "jinja",
    "export_training_chat_template": "jinja",
    "strip_generation_markers": "jinja",
    "render_chat_template": "jinja",
    "save_chat_template": "jinja",
    "HFTemplate": "hf",
    "load_tokenizer": "hf",
    "resolve_template": "hf",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
