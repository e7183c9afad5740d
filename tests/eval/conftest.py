"""Fixtures for the eval tests: a tiny random chat model with Qwen2.5's tokenizer pipeline on a small vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def chat_model(tiny_model: Callable[[str], Path]) -> Path:
    """``tiny_model("qwen2-small")``: a tiny random Qwen2 whose tokenizer is Qwen2.5's pruned to the tokens its
    encoding of the Russian dev text uses (read-only; kit/tiny_models.py).

    ``ru-llm tokenize optimize`` keeps the normalizer, the byte-level pre-tokenizer and alphabet, the special
    tokens and the chat template and renumbers about 1,850 model tokens: replies, the template, its end of
    turn and the context trimming go through the same code as with the 151k vocabulary, whose loading alone
    (about a CPU-second per ``ru-llm chat``) was most of what the chat tests cost.
    """
    return tiny_model("qwen2-small")
