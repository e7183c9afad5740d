"""Ruadapt end to end on a tiny Qwen2 (real Qwen2.5 tokenizer): extend, resize, stage 1, LEP, generate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

TEXT = Path(__file__).resolve().parent.parent / "data" / "text" / "ru_ud_gsd_dev.txt"


def test_the_chain_gives_a_faster_russian_tokenizer_and_a_working_instruct_model(cli, tiny_model, tmp_path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = tiny_model("qwen2")
    ok = lambda result: result.exit_code == 0 or pytest.fail(result.output[-2000:])  # noqa: E731
    ok(cli("tokenize", "extend", "--base", base, "--corpus", TEXT, "--add", "200", "--out", tmp_path / "tok"))
    ok(cli("tokenize", "resize-model", "--model", base, "--tokenizer", tmp_path / "tok", "--out", tmp_path / "b-ru"))
    old_tok = AutoTokenizer.from_pretrained(base)  # Qwen2.5's 151k vocabulary: about a CPU-second per load
    first_new = len(old_tok)
    stage1 = tmp_path / "stage1.yaml"
    stage1.write_text(yaml.safe_dump({
        "preset": "ruadapt-embeddings", "model": str(tmp_path / "b-ru"), "output_dir": str(tmp_path / "b2"),
        "max_length": 64, "max_steps": 2, "batch_size": 2, "grad_accum": 1, "device": "cpu",
        "embeddings": {"train": "new", "first_new_row": first_new},
        "cpt": {"corpora": [{"path": str(TEXT), "license": "CC-BY-SA-4.0"}]},
    }), encoding="utf-8")  # fmt: skip
    ok(cli("train", "run", stage1))
    # the tiny base stands in for its instruct model too: LEP must then keep its rows and add the new ones
    ok(
        cli(
            "train",
            "lep",
            "--base",
            base,
            "--instruct",
            base,
            "--adapted-base",
            tmp_path / "b2",
            "--out",
            tmp_path / "i-ru",
        )
    )
    report = json.loads((tmp_path / "i-ru" / "lep_report.json").read_text())
    assert report["mode"] == "conversion" and report["new_vocab"] > report["old_vocab"]

    new_tok = AutoTokenizer.from_pretrained(tmp_path / "i-ru")
    russian = TEXT.read_text(encoding="utf-8")[:20000]
    assert len(russian) / len(new_tok(russian)["input_ids"]) > len(russian) / len(old_tok(russian)["input_ids"])
    english = "The quick brown fox jumps over the lazy dog, then writes Python code."
    assert new_tok(english)["input_ids"] == old_tok(english)["input_ids"]
    messages = [{"role": "user", "content": "Привет!"}]
    assert new_tok.apply_chat_template(messages, tokenize=False) == old_tok.apply_chat_template(
        messages, tokenize=False
    )
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "i-ru")
    ids = new_tok("Сегодня хорошая погода", return_tensors="pt")["input_ids"]
    assert model.generate(ids, max_new_tokens=3, do_sample=False).shape[1] == ids.shape[1] + 3
