"""Learn a whole byte-level BPE vocabulary (the kind Qwen2/2.5/3, LLaMA-3 and GPT-2 use) from weighted texts.

Every one of the 256 bytes is a token, so any text round-trips. The texts are cut into pre-tokens by the
pre-tokenizer the result will use (the base's in replace mode, Qwen2's regex otherwise), their weights are
summed per distinct pre-token and turned into repeat counts, and the Rust ``tokenizers`` BpeTrainer learns
the merges (the same weighted training :mod:`ru_llm.tokenize.bpe.extend` uses).

Layout of the written vocabulary: the 256 byte tokens first (ids 0-255, GPT-2's order), then the learned
tokens in merge order, then the added tokens (the base's, in their old order, then ``special_tokens``).
Added tokens go last because that is where byte-level bases keep them and where ``tokenizers`` numbers
added tokens missing from the model vocabulary: the model vocabulary stays exactly ids ``0..N-1``.
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.bpe.extend import MAX_OCCURRENCES, count_pre_tokens, write_slow_files
from ru_llm.tokenize.trainers import TokenizerTrainer, TrainReport

BYTE_TOKENS = 256
# Qwen2/2.5's pre-tokenizer regex (one digit per pre-token; words keep their leading space or punctuation).
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
DEFAULT_SPECIAL_TOKENS = ("<|endoftext|>",)
_EXAMPLES = 10


def standalone_tokenizer_json() -> dict[str, Any]:
    """An empty byte-level BPE ``tokenizer.json`` with Qwen2's normalizer, pre-tokenizer, decoder and post-processor."""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            ],
        },
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": _bpe_model({}, []),
    }


def _bpe_model(vocab: dict[str, int], merges: list[Any], *, ignore_merges: bool = False) -> dict[str, Any]:
    return {
        "type": "BPE",
        "dropout": None,
        "unk_token": None,
        "continuing_subword_prefix": None,
        "end_of_word_suffix": None,
        "fuse_unk": False,
        "byte_fallback": False,
        "ignore_merges": ignore_merges,
        "vocab": vocab,
        "merges": merges,
    }


def byte_tokens() -> list[str]:
    """The 256 byte-level characters, sorted by code point: GPT-2's byte order (printable bytes first)."""
    from tokenizers.pre_tokenizers import ByteLevel

    return sorted(ByteLevel.alphabet())


def learn_byte_level_merges(
    pre_tokens: Counter[str], new_tokens: int, *, max_occurrences: int = MAX_OCCURRENCES
) -> tuple[list[tuple[str, str]], list[str]]:
    """Merges (in rank order) that make up to ``new_tokens`` tokens beyond the 256 bytes, and those tokens.

    Fewer tokens come back when the corpus runs out of pairs to merge.

    :param max_occurrences: the trainer sees each pre-token repeated in proportion to its weight, this many
        times in all at most (the cost of training; rarer pre-tokens are rounded to 0 or 1 at random).
    """
    from ru_llm.tokenize.bpe.extend import repeat_counts, train_merges

    if new_tokens <= 0 or not pre_tokens:
        return [], []
    words = repeat_counts(dict(pre_tokens), max_occurrences)
    # The trainer counts its alphabet (the bytes the corpus has) in its vocabulary size; every merge makes a
    # new string, except that two different pairs may make the same one: those cost no id.
    kept: list[tuple[str, str]] = []
    tokens: dict[str, None] = {}
    for left, right in train_merges(words, new_tokens) if words else []:
        if left + right not in tokens:
            if len(tokens) == new_tokens:
                break  # the trainer stops at the size asked for; a guard, so no merge makes a missing token
            tokens[left + right] = None
        kept.append((left, right))
    return kept, list(tokens)


def _remap_post_processor(component: dict[str, Any] | None, new_id: Callable[[str], int]) -> dict[str, Any] | None:
    """The base's post-processor with every special-token id it holds pointed at the token's new id."""
    if not component:
        return component
    result = copy.deepcopy(component)
    kind = result.get("type")
    if kind == "Sequence":
        result["processors"] = [_remap_post_processor(p, new_id) for p in result.get("processors", [])]
    elif kind == "TemplateProcessing":
        for special in result.get("special_tokens", {}).values():
            special["ids"] = [new_id(token) for token in special["tokens"]]
    elif kind in ("BertProcessing", "RobertaProcessing"):
        for key in ("sep", "cls"):
            token, _ = result[key]
            result[key] = [token, new_id(token)]
    return result


def _added_tokens(
    base_dir: Path | None, tokenizer_json: dict[str, Any], special_tokens: Sequence[str]
) -> list[dict[str, Any]]:
    """The added tokens of the result, in id order: the base's and then ``special_tokens`` not among them.

    The base's come first: ``tokenizer.json``'s in old-id order, then any only ``tokenizer_config.json`` lists.
    Without a base and without ``special_tokens``, :data:`DEFAULT_SPECIAL_TOKENS`.
    """
    added = sorted((dict(t) for t in tokenizer_json.get("added_tokens", [])), key=lambda t: t["id"])
    config_path = base_dir / "tokenizer_config.json" if base_dir is not None else None
    if config_path is not None and config_path.is_file():
        decoder = json.loads(config_path.read_text(encoding="utf-8")).get("added_tokens_decoder") or {}
        for old_id, token in sorted(decoder.items(), key=lambda item: int(item[0])):
            added.append({"id": int(old_id), **token})
    if base_dir is None and not special_tokens:
        special_tokens = DEFAULT_SPECIAL_TOKENS
    unique: dict[str, dict[str, Any]] = {}
    for token in [*added, *(_special_added_token(content) for content in special_tokens)]:
        unique.setdefault(token["content"], token)
    return list(unique.values())


def _example_tokens(tokens: list[str]) -> list[str]:
    """A few learned tokens, decoded, that hold a word of four letters or more (the first ones are bytes pairs)."""
    from tokenizers.decoders import ByteLevel

    decode = ByteLevel().decode
    examples = []
    for token in tokens:
        text = decode([token])
        if sum(c.isalpha() for c in text) >= 4 and "\ufffd" not in text:
            examples.append(text)
            if len(examples) == _EXAMPLES:
                break
    return examples


class ByteLevelBpeTrainer(TokenizerTrainer):
    """Byte-level BPE: every byte is a token, so nothing is ever unknown (Qwen2/2.5/3, LLaMA-3, GPT-2)."""

    name = "byte-level-bpe"
    aliases = ("bpe",)
    description = "byte-level BPE (Qwen2/2.5/3, LLaMA-3, Mistral-Nemo, GPT-2): every byte is a token"

    def __init__(self, *, max_occurrences: int = MAX_OCCURRENCES) -> None:
        self.max_occurrences = max_occurrences  # see learn_byte_level_merges

    def fits_base(self, base_dir: Path) -> bool:
        """A base directory whose ``tokenizer.json`` is a byte-level BPE."""
        from ru_llm.tokenize.bpe.extend import has_byte_level_tokenizer_json

        return has_byte_level_tokenizer_json(base_dir)

    def min_vocab_size(self, *, base_dir: Path | None = None, special_tokens: Sequence[str] = ()) -> int:
        """The 256 byte tokens plus every added token the result keeps (the smallest ``vocab_size`` accepted)."""
        from ru_llm.tokenize.bpe.extend import read_tokenizer_json

        base = Path(base_dir).expanduser() if base_dir is not None else None
        base_json = read_tokenizer_json(base) if base is not None else standalone_tokenizer_json()
        return BYTE_TOKENS + len(_added_tokens(base, base_json, special_tokens))

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
        """Learn ``vocab_size`` tokens (byte and added tokens included) and write the tokenizer to ``out_dir``."""
        from ru_llm.tokenize.bpe.extend import read_tokenizer_json

        start = time.perf_counter()
        out_dir = Path(out_dir)
        base = Path(base_dir).expanduser() if base_dir is not None else None
        base_json = read_tokenizer_json(base) if base is not None else standalone_tokenizer_json()
        added = _added_tokens(base, base_json, special_tokens)
        smallest = BYTE_TOKENS + len(added)
        if vocab_size < smallest:
            raise RuLLMError(
                f"vocabulary size {vocab_size}: a byte-level BPE needs at least {smallest} "
                f"({BYTE_TOKENS} byte tokens and {len(added)} added tokens)",
                hint=f"ask for {smallest} or more (a useful Russian vocabulary has 16,000 or more)",
            )

        read = 0

        def count_text() -> None:
            nonlocal read
            read += 1
            if on_text is not None:
                on_text()

        pre_tokens = count_pre_tokens(base_json, texts, keep=None, on_text=count_text)
        if not pre_tokens:
            raise RuLLMError("the corpus has no text to learn from", hint="pass a corpus with some text in it")
        wanted = vocab_size - smallest
        merges, learned = learn_byte_level_merges(pre_tokens, wanted, max_occurrences=self.max_occurrences)
        if len(learned) < wanted:
            supported = smallest + len(learned)
            raise RuLLMError(
                f"vocabulary size {vocab_size}: the corpus supports at most {supported:,} tokens "
                f"({len(pre_tokens):,} distinct words)",
                hint=f"ask for {supported} or less, or use a larger corpus (e.g. add wordfreq:ru)",
            )

        vocab = {token: i for i, token in enumerate([*byte_tokens(), *learned])}
        new_ids = {t["content"]: len(vocab) + i for i, t in enumerate(added)}
        result = self._tokenizer_json(base_json, vocab, merges, added, new_ids)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "tokenizer.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
        if base is not None:
            from ru_llm.tokenize.replace import copy_base_files

            old_tokens = {i: t for t, i in base_json["model"]["vocab"].items()}
            old_tokens.update((t["id"], t["content"]) for t in base_json.get("added_tokens", []))
            copy_base_files(base, out_dir, old_tokens=old_tokens, new_ids={**vocab, **new_ids})
            write_slow_files(base, out_dir, vocab, result["model"]["merges"])
        else:
            _write_standalone_config(out_dir, [t["content"] for t in added])
        return TrainReport(
            trainer=self.name,
            vocab_size=len(vocab) + len(added),
            special_tokens=[t["content"] for t in added if t.get("special")],
            texts=read,
            seconds=round(time.perf_counter() - start, 3),
            examples=_example_tokens(learned),
            base=str(base_dir) if base_dir is not None else None,
        )

    @staticmethod
    def _tokenizer_json(
        base_json: dict[str, Any],
        vocab: dict[str, int],
        merges: list[tuple[str, str]],
        added: list[dict[str, Any]],
        new_ids: dict[str, int],
    ) -> dict[str, Any]:
        """The base's pipeline (or the standalone one) around the learned model, added tokens renumbered."""
        base_model = base_json["model"]
        old_format = bool(base_model.get("merges")) and isinstance(base_model["merges"][0], str)
        result = {key: copy.deepcopy(value) for key, value in base_json.items() if key != "model"}
        result["model"] = _bpe_model(
            vocab,
            [f"{a} {b}" if old_format else [a, b] for a, b in merges],
            ignore_merges=bool(base_model.get("ignore_merges")),
        )
        result["added_tokens"] = [{**t, "id": new_ids[t["content"]]} for t in added]

        def new_id(token: str) -> int:
            if token in new_ids:
                return new_ids[token]
            if token in vocab:
                return vocab[token]
            raise RuLLMError(
                f"the base's post-processor adds {token!r}, which the new vocabulary does not have",
                hint="make the token an added token of the base, or use another base",
            )

        result["post_processor"] = _remap_post_processor(result.get("post_processor"), new_id)
        padding = result.get("padding")
        if padding and padding.get("pad_token") is not None:
            padding["pad_id"] = new_id(padding["pad_token"])
        return result


def _special_added_token(content: str) -> dict[str, Any]:
    return {
        "content": content,
        "single_word": False,
        "lstrip": False,
        "rstrip": False,
        "normalized": False,
        "special": True,
    }


def _write_standalone_config(out_dir: Path, special_tokens: list[str]) -> None:
    """A ``tokenizer_config.json`` that ``AutoTokenizer`` loads as a fast tokenizer.

    The first special token ends a text (eos) and pads, as ``<|endoftext|>`` does for GPT-2 and Qwen2 base
    models; the others are additional special tokens.
    """
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }
    if special_tokens:
        config.update(eos_token=special_tokens[0], pad_token=special_tokens[0])
        if len(special_tokens) > 1:
            config["additional_special_tokens"] = special_tokens[1:]
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", "utf-8")
