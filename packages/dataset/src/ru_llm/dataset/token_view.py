"""Token ids as a person reads them, decoded the way the tokenizer decodes them.

Decoding one id at a time is wrong for both tokenizer kinds we train: SentencePiece (LLaMA-2,
Mistral-7B) strips the leading space of the first piece it decodes, so "▁рус" alone reads "рус" and
words run together, and byte-level BPE (Qwen2.5, LLaMA-3) can split one Cyrillic letter or emoji over
two tokens, each of which decodes to "�". So text is decoded per span of ids (:func:`decoded_spans`),
and a single token is shown by its text after an anchor character, with spaces made visible as "▁"
(:func:`token_pieces`). Used by ``ru-llm dataset render`` and ``ru-llm train preview``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SPACE = "▁"  # SentencePiece's own word-start marker, for every tokenizer
_ANCHOR = "a"  # a piece every decoder passes through as itself, so the next piece keeps its leading space
_VISIBLE = str.maketrans({" ": SPACE, "\n": "\\n", "\t": "\\t", "\r": "\\r"})


def token_pieces(tok: Any, ids: Sequence[int]) -> list[str]:
    """Each id's readable form: its text with spaces shown as ▁ and newlines as \\n; special tokens as
    they are named; a byte that is only part of a character as ``<0xNN>``."""
    special = set(getattr(tok, "all_special_ids", ()))
    anchored = tok.convert_tokens_to_string([_ANCHOR]) == _ANCHOR
    pieces = []
    for token_id, raw in zip(ids, tok.convert_ids_to_tokens(list(ids)), strict=True):
        if token_id in special:
            pieces.append(raw)
            continue
        text = tok.convert_tokens_to_string([_ANCHOR, raw])[1:] if anchored else tok.convert_tokens_to_string([raw])
        if "\ufffd" in text and "\ufffd" not in raw:
            pieces.append(_byte_form(raw))
        else:
            pieces.append(text.translate(_VISIBLE))
    return pieces


def _byte_form(raw: str) -> str:
    """A partial character: SentencePiece's byte pieces are already ``<0xNN>``; byte-level BPE's
    stand-in characters are mapped back to their bytes."""
    if raw.startswith("<0x"):
        return raw
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    to_byte = {char: byte for byte, char in bytes_to_unicode().items()}
    if all(char in to_byte for char in raw):
        return "".join(f"<0x{to_byte[char]:02X}>" for char in raw)
    return raw


def decoded_spans(tok: Any, ids: Sequence[int], trained: Sequence[bool]) -> list[tuple[str, bool]]:
    """``ids`` decoded as one text by ``tok.decode``, cut where ``trained`` changes: (text, trained) pairs.

    Each span is the growth of the decoded prefix, so it keeps the spaces and whole characters the
    tokenizer gives in context; where a cut splits a character the span is decoded on its own."""
    spans: list[tuple[str, bool]] = []
    start, before = 0, ""
    for end in range(1, len(ids) + 1):
        if end < len(ids) and trained[end] == trained[start]:
            continue
        upto = tok.decode(list(ids[:end]), skip_special_tokens=False)
        if upto.startswith(before):
            text = upto[len(before) :]
        else:
            text = tok.decode(list(ids[start:end]), skip_special_tokens=False)
        spans.append((text, bool(trained[start])))
        start, before = end, upto
    return spans


@dataclass(frozen=True)
class Elided:
    """``count`` context tokens left out of a listing."""

    count: int


def elide_context(trained: Sequence[bool], head: int = 6, tail: int = 6) -> list[int | Elided]:
    """Positions to list: every trained token, and of each run of context tokens longer than
    ``head + tail + 1`` only its first ``head`` and last ``tail``, the rest as one :class:`Elided`."""
    rows: list[int | Elided] = []
    i = 0
    while i < len(trained):
        if trained[i]:
            rows.append(i)
            i += 1
            continue
        end = i
        while end < len(trained) and not trained[end]:
            end += 1
        if end - i > head + tail + 1:
            rows += [*range(i, i + head), Elided(end - i - head - tail), *range(end - tail, end)]
        else:
            rows += range(i, end)
        i = end
    return rows
