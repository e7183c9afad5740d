"""Continued pre-training: corpora mixed by weight, documents joined by EOS, every token trained."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ru_llm.train.config import CorpusConfig
from ru_llm.train.data.text import mixed_documents, read_documents, text_blocks

DATA = Path(__file__).resolve().parent.parent / "data"


def _corpora(tmp_path: Path) -> tuple[Path, Path]:
    ru = tmp_path / "ru.txt"
    lines = (DATA / "text" / "ru_ud_gsd_dev.txt").read_text(encoding="utf-8").split("\n")[:400]
    ru.write_text("\n\n".join(line for line in lines if line.strip()), encoding="utf-8")
    en = tmp_path / "en.jsonl"
    tasks = (DATA / "instructions" / "en" / "self_instruct_seed_tasks.jsonl").read_text(encoding="utf-8").split("\n")
    en.write_text(
        "".join(json.dumps({"text": json.loads(t)["instruction"]}) + "\n" for t in tasks if t.strip()),
        encoding="utf-8",
    )
    return ru, en


def test_documents_are_mixed_by_weight_until_one_corpus_runs_out(tmp_path: Path) -> None:
    ru, en = _corpora(tmp_path)
    corpora = [CorpusConfig(str(ru), weight=0.8, name="ru"), CorpusConfig(str(en), weight=0.2, name="en")]
    counts: Counter[str] = Counter()
    docs = list(mixed_documents(corpora, seed=1, counts=counts, limit=500))
    assert len(docs) == 500 and sum(counts.values()) == 500
    assert 0.74 < counts["ru"] / 500 < 0.86, counts
    assert docs == list(mixed_documents(corpora, seed=1, limit=500))  # seeded
    assert next(read_documents(CorpusConfig(str(ru)))).count("\n") == 0  # blank lines separate documents


def test_blocks_join_documents_with_eos_and_train_every_token(real_tokenizer) -> None:
    tokenizer = real_tokenizer("qwen2.5")
    blocks = text_blocks(iter(["один два", "три", "четыре пять шесть"] * 10), tokenizer, block_size=16)
    assert blocks and all(len(b) == 16 for b in blocks)
    flat = [t for b in blocks for t in b.input_ids.tolist()]
    assert tokenizer.eos_token_id in flat
    assert all((b.labels == b.input_ids).all() for b in blocks)


@pytest.mark.slow
def test_a_cpt_run_trains_on_the_mixture(run_config, cli, tmp_path: Path) -> None:
    ru, en = _corpora(tmp_path)
    config = run_config(
        "llama-small",  # the mixture, not a vocabulary, is what is tested: Qwen's 151k-way head made it ~3x dearer
        strategy="cpt",
        data=None,
        max_length=64,
        max_steps=4,
        cpt={"base": "lora", "corpora": [
            {"path": str(ru), "weight": 0.8, "license": "CC-BY-SA-4.0", "commercial": True},
            {"path": str(en), "weight": 0.2, "license": "Apache-2.0", "commercial": True},
        ]},
    )  # fmt: skip
    result = cli("train", "run", config)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert (out / "adapter_model.safetensors").is_file()
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "CC-BY-SA-4.0" in card and "All data sources are cleared for commercial use" in card
    missing = run_config(
        "llama-small", name="m.yaml", strategy="cpt", cpt={"corpora": [{"path": str(tmp_path / "x.txt")}]}
    )
    from kit.train_data import one_line_error

    assert "x.txt: no such file or directory" in one_line_error(cli("train", "run", missing))
