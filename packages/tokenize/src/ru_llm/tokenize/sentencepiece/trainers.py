"""SentencePiece Unigram and BPE vocabularies (the kinds of T5/XLM-R and of LLaMA-2/Mistral-7B).

Both learn with :func:`ru_llm.tokenize.sentencepiece.model.train_from_lines` and write ``tokenizer.model`` plus a
``tokenizer.json`` that transformers converted from it, so the fast tokenizer loads without converting
again. In replace mode the base's normaliser, segmentation flags and special pieces are kept (see
``train_from_lines``' ``like``), its other files are copied with their token ids pointed at the new ones, and
the base's tokenizer class converts the new model. Without a base the text is kept exactly (identity
normalisation, byte fallback) and ``<unk>``, ``<s>``, ``</s>`` take ids 0, 1, 2.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.sentencepiece.model import BPE, UNIGRAM  # constants: sentencepiece is imported to train
from ru_llm.tokenize.trainers import TokenizerTrainer, TrainReport

_EXAMPLES = 10


def _standalone_config(kind: int, special_tokens: Sequence[str]) -> dict[str, Any]:
    """A ``tokenizer_config.json`` for a model trained without a base.

    BPE loads as ``LlamaTokenizer`` (what LLaMA-2-style models expect). transformers' ``LlamaTokenizer``
    always builds a BPE, so a Unigram model loads as the generic fast tokenizer from its ``tokenizer.json``.
    """
    config: dict[str, Any] = {
        "tokenizer_class": "LlamaTokenizer" if kind == BPE else "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "add_bos_token": True,
        "add_eos_token": False,
        "legacy": False,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }
    if special_tokens:
        config["additional_special_tokens"] = list(special_tokens)
    return config


def _unigram_pipeline(backend: Any) -> None:
    """Give a generically converted Unigram tokenizer the ``▁`` that SentencePiece puts before the text.

    transformers' generic conversion only turns spaces into ``▁``; LLaMA's converter does it with a Metaspace
    that prepends one ``▁`` at the start, and a decoder that strips it again, which is what is done here.
    """
    from tokenizers import decoders, pre_tokenizers

    backend.normalizer = None
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    backend.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )


def _add_special_tokens_to_config(path: Path, special_tokens: Sequence[str]) -> None:
    """List ``special_tokens`` among the copied config's additional special tokens (pieces alone are not special)."""
    if not special_tokens:
        return
    config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    # transformers 5 writes extra_special_tokens, 4 additional_special_tokens; both read the latter.
    key = "additional_special_tokens"
    if isinstance(config.get("extra_special_tokens"), list):
        key = "extra_special_tokens"
    listed = list(config.get(key) or [])
    config[key] = listed + [t for t in special_tokens if t not in listed]
    path.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", "utf-8")


def _examples(proto: Any) -> list[str]:
    """A few learned pieces of four letters or more, as text (the first ones learned are letter pairs)."""
    from ru_llm.tokenize.sentencepiece.model import NORMAL

    examples = []
    for piece in proto.pieces:
        text = piece.piece.replace("▁", " ")
        if piece.type == NORMAL and sum(c.isalpha() for c in text) >= 4:
            examples.append(text)
            if len(examples) == _EXAMPLES:
                break
    return examples


class SentencePieceTrainer(TokenizerTrainer):
    """A SentencePiece model of one kind (``kind``: :data:`ru_llm.tokenize.sentencepiece.model.BPE` or ``UNIGRAM``)."""

    kind: int = 0

    def fits_base(self, base_dir: Path) -> bool:
        """A base directory whose ``tokenizer.model`` is a SentencePiece model of this kind."""
        from ru_llm.tokenize.sentencepiece.model import find_model_file, model_type, read_model

        path = find_model_file(base_dir)
        if path is None:
            return False
        try:
            return model_type(read_model(path)) == self.kind
        except RuLLMError:
            return False

    def min_vocab_size(self, *, base_dir: Path | None = None, special_tokens: Sequence[str] = ()) -> int:
        """The special and byte pieces plus one: the smallest ``vocab_size`` worth asking for (the corpus's
        characters come on top, and training names their number when it is more)."""
        from ru_llm.tokenize.sentencepiece.model import meta_piece_count, read_base_model

        like = read_base_model(base_dir) if base_dir is not None else None
        extra = [*self._base_added_tokens(base_dir, like), *special_tokens] if like is not None else special_tokens
        return meta_piece_count(like, extra) + 1

    @staticmethod
    def _base_added_tokens(base_dir: Path | None, like: Any) -> list[str]:
        """Tokens transformers adds to the base beyond its model (a ``<pad>``): the new model makes them pieces."""
        from ru_llm.tokenize.sentencepiece.model import hf_added_tokens

        if base_dir is None:
            return []
        pieces = {p.piece for p in like.pieces}
        return [content for content, _ in hf_added_tokens(base_dir).values() if content not in pieces]

    def train(
        self,
        texts: Iterable[tuple[str, float]],
        vocab_size: int,
        out_dir: Path,
        *,
        base_dir: Path | None = None,
        special_tokens: Sequence[str] = (),
        on_text: Callable[[], None] | None = None,
    ) -> TrainReport:
        """Learn ``vocab_size`` pieces (special and byte pieces included) and write the tokenizer to ``out_dir``."""
        from ru_llm.tokenize.produced import ROUND_TRIP_SAMPLES
        from ru_llm.tokenize.sentencepiece.model import (
            CONTROL,
            UNKNOWN,
            USER_DEFINED,
            adds_dummy_prefix,
            base_model_file,
            check_fast_matches_model,
            collect_lines,
            hf_added_tokens,
            model_proto,
            model_type,
            model_type_name,
            read_base_model,
            train_from_lines,
            write_tokenizer_json,
        )

        start = time.perf_counter()
        out_dir = Path(out_dir)
        base = Path(base_dir).expanduser() if base_dir is not None else None
        like = None
        model_name = "tokenizer.model"
        extra = list(special_tokens)
        if base is not None:
            like = read_base_model(base)
            if model_type(like) != self.kind:
                kind = model_type_name(model_type(like))
                raise RuLLMError(
                    f"base {base_dir}: is a SentencePiece {kind} tokenizer; the {self.name} trainer learns "
                    f"{model_type_name(self.kind)}",
                    hint=f"use the sentencepiece-{kind} trainer, or name none to get the one that fits the base",
                )
            model_name = base_model_file(base).name
            extra = [*self._base_added_tokens(base, like), *special_tokens]

        lines = collect_lines(texts, dummy_prefix=adds_dummy_prefix(like), on_text=on_text)
        model = train_from_lines(lines, vocab_size, self.kind, like=like, special_pieces=extra)
        proto = model_proto(model)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / model_name).write_bytes(model)
        base_check = None
        if base is not None:
            from ru_llm.tokenize.replace import copy_base_files
            from ru_llm.tokenize.sentencepiece.model import MODEL_FILES

            old_tokens = {i: p.piece for i, p in enumerate(like.pieces)}
            old_tokens.update((i, content) for i, (content, _) in hf_added_tokens(base).items())
            new_ids = {p.piece: i for i, p in enumerate(proto.pieces)}
            copy_base_files(base, out_dir, old_tokens=old_tokens, new_ids=new_ids, skip=MODEL_FILES)
            _add_special_tokens_to_config(out_dir / "tokenizer_config.json", special_tokens)
            write_tokenizer_json(out_dir, pipeline_from=base / "tokenizer.json")
            from transformers import AutoTokenizer

            base_check = (like.SerializeToString(), AutoTokenizer.from_pretrained(str(base), trust_remote_code=False))
        else:
            config = _standalone_config(self.kind, extra)
            (out_dir / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2), "utf-8")
            tokenizer = write_tokenizer_json(out_dir)
            if tokenizer.backend_tokenizer.model.__class__.__name__ == "Unigram":
                _unigram_pipeline(tokenizer.backend_tokenizer)
                tokenizer.backend_tokenizer.save(str(out_dir / "tokenizer.json"))
        check_fast_matches_model(out_dir, model, ROUND_TRIP_SAMPLES, base=base_check)
        specials = [p.piece for p in proto.pieces if p.type in (UNKNOWN, CONTROL, USER_DEFINED)]
        return TrainReport(
            trainer=self.name,
            vocab_size=len(proto.pieces),
            special_tokens=specials,
            texts=lines.texts,
            seconds=round(time.perf_counter() - start, 3),
            examples=_examples(proto),
            base=str(base_dir) if base_dir is not None else None,
        )


class SentencePieceUnigramTrainer(SentencePieceTrainer):
    """SentencePiece Unigram: the most likely split by piece probabilities (T5, mT5, XLM-R, ALBERT)."""

    name = "sentencepiece-unigram"
    aliases = ("spm-unigram",)
    description = "SentencePiece Unigram (T5, mT5, XLM-R): byte fallback: no character is unknown"
    kind = UNIGRAM


class SentencePieceBpeTrainer(SentencePieceTrainer):
    """SentencePiece BPE: pieces joined by learned scores (LLaMA-2, Mistral-7B, Gemma)."""

    name = "sentencepiece-bpe"
    aliases = ("spm-bpe",)
    description = "SentencePiece BPE (LLaMA-2, Mistral-7B, Gemma): byte fallback: no character is unknown"
    kind = BPE
