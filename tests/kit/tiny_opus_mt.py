"""A tiny random Marian model laid out like the real Helsinki-NLP/opus-mt-* checkpoints.

The ``tiny_model("marian")`` fixture puts ``<pad>`` at id 0; the real opus-mt vocabularies have
``</s>`` = 0, ``<unk>`` = 1 and ``<pad>`` last (the decoder start token, never generated). CTranslate2's
Marian converter relies on that layout (it drops the last row as the pad embedding), so the ct2 tests
use this model.
"""

from __future__ import annotations

import json
from pathlib import Path

from kit.tiny_models import _SEQ2SEQ, _pieces, _sentencepiece


def build_tiny_opus_mt(out_dir: Path, *, seed: int = 0) -> Path:
    """Save a tiny random opus-mt-style Marian model with its tokenizer to ``out_dir``; returns it."""
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = _sentencepiece(unk_id=0, bos_id=1, eos_id=2, pad_id=-1)  # the SentencePiece layout of opus-mt
    for name in ("source.spm", "target.spm"):
        (out_dir / name).write_bytes(model)
    pieces = [piece for piece, _ in _pieces(model) if piece not in ("<unk>", "<s>", "</s>")]
    vocab = {"</s>": 0, "<unk>": 1, **{piece: i + 2 for i, piece in enumerate(pieces)}}
    pad = vocab["<pad>"] = len(vocab)
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = MarianTokenizer(str(out_dir / "source.spm"), str(out_dir / "target.spm"), str(out_dir / "vocab.json"))
    config = MarianConfig(
        vocab_size=len(vocab),
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
        forced_eos_token_id=0,
        **_SEQ2SEQ,
    )
    torch.manual_seed(seed)
    marian = MarianMTModel(config)
    marian.generation_config = GenerationConfig(
        decoder_start_token_id=pad, eos_token_id=0, pad_token_id=pad, forced_eos_token_id=0, bad_words_ids=[[pad]]
    )
    marian.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
