"""Tiny random-weight transformers models with real tokenizers, built offline.

Every later feature is tested on these: they run the real transformers code paths (configs,
tokenizers, ``generate``, ``save_pretrained`` in safetensors) in seconds. Decoder-only families use
the real LLaMA-2, Mistral-7B and Qwen2.5 tokenizers from ``tests/data/tokenizers``; the others get a
small vocabulary learned here from the bundled Russian and English text, in the layout their own
tokenizer class expects. Weights are random: outputs are gibberish by design.

Use from tests through the ``tiny_model`` fixture in ``tests/conftest.py``; benchmarks may import
:func:`build_tiny_model` directly.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data"
TOKENIZERS = DATA / "tokenizers"
SMALL_VOCAB = 1000


def training_text() -> list[str]:
    """Russian sentences (UD GSD dev) and English instructions (self-instruct seed tasks)."""
    ru = (DATA / "text" / "ru_ud_gsd_dev.txt").read_text(encoding="utf-8").splitlines()
    en_file = DATA / "instructions" / "en" / "self_instruct_seed_tasks.jsonl"
    en = []
    for line in en_file.read_text(encoding="utf-8").splitlines():
        task = json.loads(line)
        en.append(task["instruction"])
        en.extend(i["output"] for i in task["instances"] if i["output"])
    return [line for line in ru + en if line.strip()]


def _sentencepiece(model_type: str = "unigram", **special_ids: Any) -> bytes:
    """A small SentencePiece model; ``special_ids`` sets the *_id / *_piece options."""
    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_text()),
        model_writer=buffer,
        vocab_size=SMALL_VOCAB,
        model_type=model_type,
        character_coverage=1.0,
        minloglevel=2,
        num_threads=1,
        **special_ids,
    )
    return buffer.getvalue()


def _pieces(model: bytes) -> list[tuple[str, float]]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=model)
    return [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]


def _vocab_size(tokenizer: Any) -> int:
    return max(len(tokenizer), max(tokenizer.get_vocab().values()) + 1)


# -- tokenizers ---------------------------------------------------------------------------------
def _real_tokenizer(name: str) -> Callable[[Path], Any]:
    def load(_: Path) -> Any:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(TOKENIZERS / name)

    return load


def _gemma_tokenizer(work: Path) -> Any:
    from transformers import AutoTokenizer

    # Gemma's vocabulary is SentencePiece BPE with <pad>, <eos>, <bos>, <unk> first.
    names = {"pad_piece": "<pad>", "eos_piece": "<eos>", "bos_piece": "<bos>", "unk_piece": "<unk>"}
    model = _sentencepiece("bpe", pad_id=0, eos_id=1, bos_id=2, unk_id=3, **names)
    (work / "tokenizer.model").write_bytes(model)
    config = {"tokenizer_class": "GemmaTokenizer", "add_bos_token": True}  # as the real Gemma tokenizers
    (work / "tokenizer_config.json").write_text(json.dumps(config))
    return AutoTokenizer.from_pretrained(work)


def _small_llama_tokenizer(work: Path) -> Any:
    from transformers import AutoTokenizer

    # LLaMA-2's layout (<unk>, <s>, </s> first; BOS added, no pad) on a vocabulary of SMALL_VOCAB pieces.
    (work / "tokenizer.model").write_bytes(_sentencepiece("bpe", unk_id=0, bos_id=1, eos_id=2, pad_id=-1))
    config = {"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False, "legacy": False}
    (work / "tokenizer_config.json").write_text(json.dumps(config))
    return AutoTokenizer.from_pretrained(work)


def small_qwen_tokenizer(out: Path) -> None:
    """Qwen2.5's tokenizer pruned by ``ru-llm tokenize optimize`` to the tokens its encoding of the Russian dev
    text uses (min count 3), written to ``out``: about 1,850 model tokens renumbered compactly and Qwen's 22
    added tokens, with the same normalizer, byte-level pre-tokenizer and alphabet, special tokens and chat
    template as the 151k original at a thirtieth of its size (it loads in milliseconds instead of a second)."""
    from ru_llm.tokenize.bpe.optimize import ID_MAP, optimize_tokenizer
    from ru_llm.tokenize.corpus import weighted_texts

    texts = weighted_texts([str(DATA / "text" / "ru_ud_gsd_dev.txt")])
    optimize_tokenizer(TOKENIZERS / "qwen2.5", texts, out, min_count=3, overwrite=True)
    (out / ID_MAP).unlink()  # a tokenizer directory like any other
    (out / ".ru-llm-output").unlink(missing_ok=True)


def _small_qwen_tokenizer(work: Path) -> Any:
    import shutil

    from transformers import AutoTokenizer

    small_qwen_tokenizer(work / "qwen")
    tokenizer = AutoTokenizer.from_pretrained(work / "qwen")
    shutil.rmtree(work / "qwen")
    return tokenizer


def _xglm_tokenizer(_: Path) -> Any:
    from transformers import XGLMTokenizer

    # XGLM's fairseq order: <s>, <pad>, </s>, <unk>.
    return XGLMTokenizer(vocab=_pieces(_sentencepiece(bos_id=0, pad_id=1, eos_id=2, unk_id=3)))


def _gpt2_tokenizer(_: Path) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=SMALL_VOCAB,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(training_text(), trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return GPT2Tokenizer(vocab=model["vocab"], merges=merges)


def _marian_tokenizer(work: Path) -> Any:
    from transformers import MarianTokenizer

    model = _sentencepiece(pad_id=0, eos_id=1, unk_id=2, bos_id=-1)  # Marian has no BOS
    for name in ("source.spm", "target.spm"):
        (work / name).write_bytes(model)
    vocab = {piece: i for i, (piece, _) in enumerate(_pieces(model))}
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    return MarianTokenizer(str(work / "source.spm"), str(work / "target.spm"), str(work / "vocab.json"))


def _m2m100_tokenizer(work: Path) -> Any:
    from transformers import M2M100Tokenizer

    model = _sentencepiece(bos_id=0, pad_id=1, eos_id=2, unk_id=3)
    (work / "sentencepiece.bpe.model").write_bytes(model)
    vocab = {piece: i for i, (piece, _) in enumerate(_pieces(model))}
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    return M2M100Tokenizer(
        str(work / "vocab.json"), str(work / "sentencepiece.bpe.model"), src_lang="en", tgt_lang="ru"
    )


# -- configs ------------------------------------------------------------------------------------
_DECODER = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2}
_SEQ2SEQ = {
    "d_model": 32,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "max_position_embeddings": 256,
}


def _ids(tok: Any) -> dict[str, Any]:
    return {
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
    }


def _decoder_config(config_class: str, **extra: Any) -> Callable[[Any], Any]:
    """A config factory for a small decoder-only model of ``config_class`` sized for ``tok``."""

    def make(tok: Any) -> Any:
        import transformers

        return getattr(transformers, config_class)(
            vocab_size=_vocab_size(tok), num_key_value_heads=1, max_position_embeddings=256,
            **_DECODER, **_ids(tok), **extra,
        )  # fmt: skip

    return make


def _gpt2_config(tok: Any) -> Any:
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=_vocab_size(tok),
        n_embd=32,
        n_layer=2,
        n_head=2,
        n_positions=256,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )


def _xglm_config(tok: Any) -> Any:
    from transformers import XGLMConfig

    return XGLMConfig(
        vocab_size=_vocab_size(tok),
        d_model=32,
        num_layers=2,
        attention_heads=2,
        ffn_dim=64,
        max_position_embeddings=256,
        **_ids(tok),
    )


def _marian_config(tok: Any) -> Any:
    from transformers import MarianConfig

    return MarianConfig(
        vocab_size=_vocab_size(tok),
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id,
        **_SEQ2SEQ,
    )


def _m2m100_config(tok: Any) -> Any:
    from transformers import M2M100Config

    # Language codes and "madeup words" get ids past the SentencePiece vocabulary, outside get_vocab().
    vocab_size = tok.encoder_size + len(tok.lang_token_to_id) + tok.num_madeup_words
    return M2M100Config(vocab_size=vocab_size, decoder_start_token_id=tok.eos_token_id, **_SEQ2SEQ, **_ids(tok))


# name -> (tokenizer factory, config factory, model class name)
TINY_MODELS: dict[str, tuple[Callable[[Path], Any], Callable[[Any], Any], str]] = {
    "llama": (_real_tokenizer("llama2"), _decoder_config("LlamaConfig"), "LlamaForCausalLM"),
    # LLaMA with a small learned vocabulary: for tests whose cost is the head over 32k logits at every
    # position (DPO scores every token of both replies with the policy and the reference), not the tokenizer.
    "llama-small": (_small_llama_tokenizer, _decoder_config("LlamaConfig"), "LlamaForCausalLM"),
    "mistral": (
        _real_tokenizer("mistral-7b-v0.1"),
        _decoder_config("MistralConfig", sliding_window=None),
        "MistralForCausalLM",
    ),
    # The real 151k vocabulary; tie the matrices, as Qwen2.5-0.5B does.
    "qwen2": (_real_tokenizer("qwen2.5"), _decoder_config("Qwen2Config", tie_word_embeddings=True), "Qwen2ForCausalLM"),
    # Qwen2 on Qwen2.5's tokenizer pruned to ~1,900 tokens (small_qwen_tokenizer): the same pipeline and chat
    # template for tests whose subject is not the vocabulary. Untied: with the head tied to so few random
    # embeddings, greedy decoding repeats the prompt's last token (the newline after "assistant").
    "qwen2-small": (
        _small_qwen_tokenizer,
        _decoder_config("Qwen2Config", tie_word_embeddings=False),
        "Qwen2ForCausalLM",
    ),
    "gemma": (_gemma_tokenizer, _decoder_config("GemmaConfig", head_dim=8), "GemmaForCausalLM"),
    "gpt2": (_gpt2_tokenizer, _gpt2_config, "GPT2LMHeadModel"),
    "xglm": (_xglm_tokenizer, _xglm_config, "XGLMForCausalLM"),
    "marian": (_marian_tokenizer, _marian_config, "MarianMTModel"),
    "m2m100": (_m2m100_tokenizer, _m2m100_config, "M2M100ForConditionalGeneration"),
}


def build_tiny_model(name: str, out_dir: Path, *, seed: int = 0) -> Path:
    """Save a tiny random ``name`` model with its tokenizer to ``out_dir`` (safetensors); returns it."""
    import torch
    import transformers

    make_tokenizer, make_config, model_class = TINY_MODELS[name]
    out_dir = Path(out_dir)
    work = out_dir / ".tokenizer-work"
    work.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer(work)
    torch.manual_seed(seed)
    model = getattr(transformers, model_class)(make_config(tokenizer))
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    for leftover in work.iterdir():
        leftover.unlink()
    work.rmdir()
    return out_dir
