"""Drop the tokens of a byte-level BPE base (Qwen2/2.5, LLaMA-3, Mistral-Nemo) unused on target corpora.

The base encodes every pre-token of the keep corpora; each token used at least ``min_count`` times is kept,
with every token (and merge) that builds it, all 256 byte tokens (any text still encodes) and every added
token. Since every token the base forms while encoding the keep corpora is kept, with the merges that
formed it, and every dropped merge was never the best one at any step there, the keep corpora split into
the same token strings as before. The kept model tokens are renumbered compactly in their old order, the
added tokens after them; ``id_map.json`` maps each kept base id to its new id. Optionally the pruned
tokenizer is then extended with Russian merges (:mod:`ru_llm.tokenize.bpe.extend`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ru_llm.core.atomic import atomic_directory
from ru_llm.core.errors import ConfigError, RuLLMError
from ru_llm.tokenize.bpe.extend import (
    bare_model,
    check_byte_level_bpe,
    check_new_tokens,
    copy_for_model_edit,
    count_pre_tokens,
    extended_tokenizer_json,
    learn_full_extension,
    merge_pair,
    parse_tokenizer_json,
    write_slow_files,
)
from ru_llm.tokenize.produced import check_out_dir, verify_tokenizer

ID_MAP = "id_map.json"
SENTENCEPIECE_HINT = (
    "add Russian pieces with `ru-llm tokenize extend`, or learn a new vocabulary with `ru-llm tokenize replace`"
)


def check_options(min_count: float, add: int | None, has_add_texts: bool) -> None:
    """:func:`optimize_tokenizer`'s own guard: ``min_count`` at least 1, ``add`` and ``add_texts`` together."""
    if not min_count >= 1:
        raise ConfigError(f"min_count={min_count:g}: must be at least 1")
    if (add is None) == has_add_texts:
        raise ConfigError("add and add_texts go together: how many new tokens, and the text to learn them from")
    if add is not None:
        check_new_tokens(add)


def _sentencepiece_json(tokenizer_json: dict[str, Any]) -> bool:
    model = tokenizer_json.get("model") or {}
    pre = tokenizer_json.get("pre_tokenizer") or {}
    return model.get("type") == "Unigram" or bool(model.get("byte_fallback")) or pre.get("type") == "Metaspace"


def read_base(base_dir: str | Path) -> dict[str, Any]:
    """The base's byte-level BPE ``tokenizer.json``; a one-line error for SentencePiece bases (not supported)."""
    from ru_llm.tokenize.bpe.extend import uses_sentencepiece
    from ru_llm.tokenize.loading import has_sentencepiece_model

    base = Path(base_dir).expanduser()
    no_json = base.is_dir() and not (base / "tokenizer.json").is_file()
    if uses_sentencepiece(base) or (no_json and has_sentencepiece_model(base)):
        raise _sentencepiece_base(base_dir)
    data = parse_tokenizer_json(base)  # once: the file is 5-10 MB for a 128k-150k vocabulary
    if _sentencepiece_json(data):  # e.g. a Unigram or byte-fallback tokenizer.json without tokenizer.model
        raise _sentencepiece_base(base_dir)
    check_byte_level_bpe(data, str(base_dir))
    return data


def _sentencepiece_base(base_dir: str | Path) -> RuLLMError:
    return RuLLMError(
        f"base {base_dir}: is a SentencePiece tokenizer; optimize supports byte-level BPE bases only "
        "(Qwen2/2.5, LLaMA-3, Mistral-Nemo)",
        hint=SENTENCEPIECE_HINT,
    )


def token_usage(tokenizer_json: dict[str, Any], pre_tokens: Counter[str]) -> Counter[int]:
    """Weighted use of each base token id when the bare base BPE encodes the counted pre-tokens."""
    model = bare_model(tokenizer_json)
    pieces = list(pre_tokens)
    usage: Counter[int] = Counter()
    step = 65536
    for start in range(0, len(pieces), step):
        batch = pieces[start : start + step]
        for piece, encoding in zip(batch, model.encode_batch_fast(batch, add_special_tokens=False), strict=True):
            weight = pre_tokens[piece]
            for i in encoding.ids:
                usage[i] += weight
    return usage


def _byte_alphabet() -> set[str]:
    from tokenizers.pre_tokenizers import ByteLevel

    return set(ByteLevel.alphabet())


def kept_tokens(tokenizer_json: dict[str, Any], usage: Counter[int], min_count: float) -> set[str]:
    """Model-vocabulary strings to keep: bytes, added tokens, used tokens, closed under the merges building them."""
    vocab: dict[str, int] = tokenizer_json["model"]["vocab"]
    id_to_token = {i: token for token, i in vocab.items()}
    producers: dict[str, list[tuple[str, str]]] = {}
    for merge in tokenizer_json["model"]["merges"]:
        left, right = merge_pair(merge)
        producers.setdefault(left + right, []).append((left, right))
    seeds = {token for token in _byte_alphabet() if token in vocab}
    seeds |= {t["content"] for t in tokenizer_json.get("added_tokens", []) if t["content"] in vocab}
    seeds |= {id_to_token[i] for i, count in usage.items() if count >= min_count and i in id_to_token}
    kept: set[str] = set()
    stack = list(seeds)
    while stack:
        token = stack.pop()
        if token in kept:
            continue
        kept.add(token)
        for left, right in producers.get(token, ()):
            for part in (left, right):
                if part in vocab and part not in kept:
                    stack.append(part)
    return kept


def _remap_post_processor(component: Any, new_ids: dict[str, int]) -> None:
    """Point the token ids a post-processor names (TemplateProcessing, Roberta/Bert) at their new ids, in place."""
    if isinstance(component, list):
        for item in component:
            _remap_post_processor(item, new_ids)
        return
    if not isinstance(component, dict):
        return
    if isinstance(component.get("ids"), list) and isinstance(component.get("tokens"), list):
        component["ids"] = [new_ids[token] for token in component["tokens"]]
    for key in ("sep", "cls"):
        pair = component.get(key)
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and pair[0] in new_ids:
            component[key] = [pair[0], new_ids[pair[0]]]
    for value in component.values():
        if isinstance(value, dict | list):
            _remap_post_processor(value, new_ids)


def prune_tokenizer_json(tokenizer_json: dict[str, Any], kept: set[str]) -> tuple[dict[str, Any], dict[int, int]]:
    """The tokenizer with only the ``kept`` model tokens (and every added token), renumbered; and old id -> new id.

    Kept model tokens take ids 0..K-1 in their old order; added tokens missing from the model vocabulary
    follow in their old order. A merge stays when its output and both parts are kept.
    """
    pruned = copy_for_model_edit(tokenizer_json)
    model = pruned["model"]
    vocab: dict[str, int] = model["vocab"]
    old_to_new: dict[int, int] = {}
    new_vocab: dict[str, int] = {}
    for token, old in sorted(vocab.items(), key=lambda item: item[1]):
        if token in kept:
            new_vocab[token] = old_to_new[old] = len(new_vocab)
    next_id = len(new_vocab)
    new_ids = dict(new_vocab)
    for added in sorted(pruned.get("added_tokens", []), key=lambda t: t["id"]):
        if added["content"] in new_vocab:
            new_id = new_vocab[added["content"]]
        else:
            new_id = next_id
            next_id += 1
        old_to_new[added["id"]] = added["id"] = new_ids[added["content"]] = new_id
    model["vocab"] = new_vocab
    model["merges"] = [
        m for m in model["merges"] if (pair := merge_pair(m))[0] in kept and pair[1] in kept and "".join(pair) in kept
    ]
    _remap_post_processor(pruned.get("post_processor"), new_ids)
    padding = pruned.get("padding")
    if isinstance(padding, dict) and padding.get("pad_token") in new_ids:
        padding["pad_id"] = new_ids[padding["pad_token"]]
    return pruned, old_to_new


def all_tokens(tokenizer_json: dict[str, Any]) -> dict[int, str]:
    """Every id of a ``tokenizer.json`` (model vocabulary and added tokens) and its string."""
    tokens = {i: token for token, i in tokenizer_json["model"]["vocab"].items()}
    tokens.update({t["id"]: t["content"] for t in tokenizer_json.get("added_tokens", [])})
    return tokens


@dataclass
class OptimizeReport:
    """What ``ru-llm tokenize optimize`` did, for its summary table and ``--json``."""

    base: str
    out_dir: str
    base_vocab: int
    kept: int
    dropped: int
    new_tokens: int
    vocab_size: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def optimize_tokenizer(
    base_dir: str | Path,
    keep_texts: Iterable[tuple[str, float]],
    out_dir: str | Path,
    *,
    min_count: float = 1,
    add: int | None = None,
    add_texts: Iterable[tuple[str, float]] | None = None,
    overwrite: bool = False,
    on_text: Callable[[], None] | None = None,
    base_tokenizer: Any = None,
) -> OptimizeReport:
    """Drop the base tokens unused on ``keep_texts``, optionally learn ``add`` Russian tokens from ``add_texts``.

    Writes ``tokenizer.json``, the slow files the base ships, its other tokenizer files with ids remapped and
    ``id_map.json`` to a temp dir beside ``out_dir``, verifies it, and renames it into place.

    :param base_tokenizer: the base already loaded by ``AutoTokenizer`` (the command loads it before reading
        any corpus), so the final check does not load it again.
    """
    from ru_llm.tokenize.replace import copy_base_files

    start = time.perf_counter()
    base = Path(base_dir).expanduser()
    out = Path(out_dir).expanduser()
    check_options(min_count, add, add_texts is not None)
    tokenizer_json = read_base(base)
    check_out_dir(out, overwrite, base)

    pre_tokens = count_pre_tokens(tokenizer_json, keep_texts, keep=None, on_text=on_text)
    if not pre_tokens:
        raise RuLLMError("the keep corpus is empty: no words to count", hint="use a keep corpus with text in it")
    kept = kept_tokens(tokenizer_json, token_usage(tokenizer_json, pre_tokens), min_count)
    pruned, old_to_new = prune_tokenizer_json(tokenizer_json, kept)
    final = pruned
    new_tokens = 0
    if add is not None and add_texts is not None:
        extension = learn_full_extension(pruned, add_texts, add, on_text=on_text)
        final = extended_tokenizer_json(pruned, extension)
        new_tokens = len(extension.new_tokens)

    old_tokens = all_tokens(tokenizer_json)
    final_tokens = all_tokens(final)
    new_ids = {token: i for i, token in final_tokens.items()}
    with atomic_directory(out, command="tokenize optimize") as work:
        (work / "tokenizer.json").write_text(json.dumps(final, ensure_ascii=False, indent=2), "utf-8")
        write_slow_files(base, work, final["model"]["vocab"], final["model"]["merges"])
        copy_base_files(
            base, work, old_tokens=old_tokens, new_ids=new_ids, skip=("tokenizer.json", "vocab.json", "merges.txt")
        )
        id_map = {
            "old_to_new": {str(old): new for old, new in sorted(old_to_new.items())},
            "dropped": len(old_tokens) - len(old_to_new),
        }
        (work / ID_MAP).write_text(json.dumps(id_map, indent=1) + "\n", "utf-8")
        verify_tokenizer(work, base, base_tokenizer=base_tokenizer)
    return OptimizeReport(
        base=str(base_dir),
        out_dir=str(out),
        base_vocab=len(old_tokens),
        kept=len(old_to_new),
        dropped=len(old_tokens) - len(old_to_new),
        new_tokens=new_tokens,
        vocab_size=len(final_tokens),
        seconds=round(time.perf_counter() - start, 3),
    )
