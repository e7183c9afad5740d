"""Shared fixtures: a fresh plugin manager per test, the in-process CLI, and tiny random-weight models.

The suite runs on pytest-xdist workers (``-n auto`` in the root pyproject.toml): the tiny models are built
once per run into the directory all workers share, under a file lock, and every worker gets one thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ru_llm.cli  # noqa: F401  (announces every package's hooks, as the command line does)
from ru_llm.core.plugins import DISABLE_AUTOLOAD_ENV, LOAD_PLUGINS_ENV, PluginManager, set_plugin_manager

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """On an xdist worker, torch and tokenizers use one thread: the workers already fill the cores.

    Before any test module imports torch, which reads ``OMP_NUM_THREADS`` when it loads.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        os.environ.setdefault("MKL_NUM_THREADS", "1")


# Modules whose tests start processes of their own (torchrun ranks, benchmarks, a fresh environment) or
# train for a minute each (parts of the module's path). Every module that forks through kit.launch's server is
# among them ("durable" too), so they run one after another at the head of the first worker's share and that
# worker alone starts a server (about 9 CPU-seconds of imports each).
LONG_MODULES = (
    "bench/", "test_bench", "memory_bench", "distributed", "zero3", "multinode", "dpo", "example_plugin", "durable",
)  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest modules run first, then those with the most ``slow`` tests; each module stays together.

    The workers take tests in this order, so the long runs start early and the many quick tests fill the
    end, instead of one worker finishing a long run while the other waits. Whole modules keep
    module-scoped fixtures built once per worker.
    """

    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    slow: dict[str, int] = {}
    for item in items:
        slow[module(item)] = slow.get(module(item), 0) + ("slow" in item.keywords)
    position = {id(item): i for i, item in enumerate(items)}

    def order(item: pytest.Item) -> tuple[bool, int, int]:
        long = any(part in module(item) for part in LONG_MODULES)
        return (not long, -slow[module(item)], position[id(item)])

    items.sort(key=order)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Hand the frozen objects back before exit: left frozen, nanobind (triton) reports them as leaked."""
    import gc

    gc.unfreeze()


@pytest.fixture(scope="module", autouse=True)
def settled_heap() -> Iterator[None]:
    """Each module starts with the garbage collector's work so far frozen (see kit.heap)."""
    from kit.heap import freeze_what_lives

    freeze_what_lives()
    yield


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


@pytest.fixture
def cli() -> Callable[..., Any]:
    """``cli("train", "run", path, input=None, env=None)`` -> the click Result of ``ru-llm`` run in-process."""
    from kit.cli import run_cli

    return run_cli


def shared_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A directory of this run that every xdist worker sees (this session's own temp dir without xdist)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's temp dir; each worker's own is a folder in it
    path = base / name
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``tiny_model("llama")`` -> a saved tiny random model directory, built once per run (read-only: a test
    that changes files copies the directory into its tmp_path first).

    Names: llama, llama-small (LLaMA with a 1,000-piece vocabulary), mistral, qwen2, qwen2-small (Qwen2.5's
    tokenizer pruned to ~1,900 tokens), gemma, gpt2, xglm (causal LMs) and marian, m2m100 (seq2seq).
    """
    from filelock import FileLock
    from kit.tiny_models import build_tiny_model

    root = shared_dir(tmp_path_factory, "tiny-models")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            target = root / name
            with FileLock(str(root / f"{name}.lock")):  # the first worker builds, the others wait and reuse
                if not (target / "config.json").is_file():
                    build_tiny_model(name, root / f"{name}.partial")
                    (root / f"{name}.partial").rename(target)
            built[name] = target
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
