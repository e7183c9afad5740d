"""Fixtures for the tokenize tests: a small byte-level BPE base with Qwen2.5's whole pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO, shared_dir

DATA = REPO / "tests" / "data"


@pytest.fixture(scope="session")
def small_qwen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Qwen2.5's tokenizer pruned to the tokens its encoding of the Russian dev text uses (read-only).

    Built once per run by ``tokenize optimize`` (min count 3: about 1,850 model tokens and Qwen's 22 added
    tokens, renumbered compactly). The same normalizer, pre-tokenizer, byte alphabet, special tokens and
    chat template as the real base at a thirtieth of its size: for the tests whose subject is not the
    150k vocabulary (output directory rules, corpus errors, determinism), loading, extending and verifying
    it takes a fraction of a second instead of seconds.
    """
    from filelock import FileLock
    from kit.tiny_models import small_qwen_tokenizer

    root = shared_dir(tmp_path_factory, "tokenize-bases")
    target = root / "small-qwen"
    with FileLock(str(root / "small-qwen.lock")):  # the first worker builds, the others wait and reuse
        if not (target / "tokenizer.json").is_file():
            small_qwen_tokenizer(root / "small-qwen.partial")  # the tokenizer of tiny_model("qwen2-small")
            (root / "small-qwen.partial").rename(target)
    return target


@pytest.fixture(scope="session")
def unigram_model() -> bytes:
    """A 500-piece SentencePiece unigram ``tokenizer.model`` learned from the Russian dev text, once per run.

    For the tests that a unigram base is refused where BPE is needed: its size does not matter there.
    """
    from ru_llm.tokenize.corpus import weighted_texts
    from ru_llm.tokenize.sentencepiece import model as spm

    return spm.train_sentencepiece(weighted_texts([str(DATA / "text" / "ru_ud_gsd_dev.txt")]), 500, spm.UNIGRAM)
