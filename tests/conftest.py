"""Shared fixtures: a fresh plugin manager per test, and tiny random-weight models per session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import ru_llm.cli  # noqa: F401  (announces every package's hooks, as the command line does)
from ru_llm.core.plugins import DISABLE_AUTOLOAD_ENV, LOAD_PLUGINS_ENV, PluginManager, set_plugin_manager

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with a manager built anew and no entry-point plugins.

    Tests never depend on what happens to be installed: a test that wants entry points clears
    ``RU_LLM_DISABLE_PLUGIN_AUTOLOAD`` itself.
    """
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    monkeypatch.delenv(LOAD_PLUGINS_ENV, raising=False)
    monkeypatch.delenv("RU_LLM_DEBUG", raising=False)
    old = set_plugin_manager(None)
    yield
    set_plugin_manager(old)


@pytest.fixture
def plugin_manager() -> PluginManager:
    """The process-wide manager for this test (fresh, built-ins only); register test plugins on it."""
    from ru_llm.core.plugins import get_plugin_manager

    return get_plugin_manager()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``tiny_model("llama")`` -> a saved tiny random model directory, built once per session.

    Names: llama, mistral, qwen2, gemma, gpt2, xglm (causal LMs) and marian, m2m100 (seq2seq).
    """
    from kit.tiny_models import build_tiny_model

    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_tiny_model(name, tmp_path_factory.mktemp(f"tiny-{name}"))
        return built[name]

    return get


@pytest.fixture(scope="session")
def real_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], object]:
    """``real_tokenizer("llama3")`` -> the real tokenizer from tests/data/tokenizers, loaded once.

    Names: qwen2.5, llama2, llama3, mistral-7b-v0.1. Large ``tokenizer.json`` files are stored gzipped
    and unpacked into a session temp dir.
    """
    import gzip
    import shutil

    from transformers import AutoTokenizer

    loaded: dict[str, object] = {}

    def get(name: str) -> object:
        if name not in loaded:
            source = REPO / "tests" / "data" / "tokenizers" / name
            target = tmp_path_factory.mktemp(f"tok-{name}")
            for file in source.iterdir():
                if file.suffix == ".gz":
                    with gzip.open(file, "rb") as src, open(target / file.stem, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                else:
                    shutil.copy(file, target / file.name)
            loaded[name] = AutoTokenizer.from_pretrained(target)
        return loaded[name]

    return get
