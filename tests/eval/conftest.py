"""Fixtures for the eval tests: a tiny random chat model with Qwen2.5's tokenizer pipeline on a small vocabulary."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO, shared_dir

DATA = REPO / "tests" / "data"


@pytest.fixture(scope="session")
def chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 model whose tokenizer is Qwen2.5's pruned to the tokens its encoding of the Russian
    dev text uses (read-only; built once per run under a file lock, as ``tiny_model``).

    ``ru-llm tokenize optimize`` keeps the normalizer, the byte-level pre-tokenizer and alphabet, the special
    tokens and the chat template and renumbers about 1,850 model tokens: replies, the template, its end of
    turn and the context trimming go through the same code as with the 151k vocabulary, whose loading alone
    (about a CPU-second per ``ru-llm chat``) was most of what the chat tests cost.
    """
    from filelock import FileLock
    from kit.tiny_models import TINY_MODELS

    from ru_llm.tokenize.bpe.optimize import ID_MAP, optimize_tokenizer
    from ru_llm.tokenize.corpus import weighted_texts

    root = shared_dir(tmp_path_factory, "eval-models")
    target = root / "small-qwen-chat"
    with FileLock(str(root / "small-qwen-chat.lock")):  # the first worker builds, the others wait and reuse
        if not (target / "config.json").is_file():
            import torch
            import transformers
            from transformers import AutoTokenizer

            partial = root / "small-qwen-chat.partial"
            texts = weighted_texts([str(DATA / "text" / "ru_ud_gsd_dev.txt")])
            optimize_tokenizer(DATA / "tokenizers" / "qwen2.5", texts, partial, min_count=3, overwrite=True)
            (partial / ID_MAP).unlink()  # a model directory like any other
            (partial / ".ru-llm-output").unlink(missing_ok=True)
            tokenizer = AutoTokenizer.from_pretrained(partial)
            _, make_config, model_class = TINY_MODELS["qwen2"]  # the tiny Qwen2 of tiny_model("qwen2")
            config = make_config(tokenizer)
            # untied: with the head tied to ~1,900 random embeddings, greedy decoding repeats the prompt's last
            # token (the newline after "assistant") and every reply would be blank
            config.tie_word_embeddings = False
            torch.manual_seed(0)
            getattr(transformers, model_class)(config).save_pretrained(partial)
            tokenizer.save_pretrained(partial)
            partial.rename(target)
    return target
