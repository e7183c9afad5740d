"""Preference pairs to DPO samples: our templates' tokens, rejects with reasons, a counting collator.

Each pair becomes ``prompt_ids``/``chosen_ids``/``rejected_ids`` through
:func:`ru_llm.dataset.templates.preference.tokenize_preference` (the prompt rendered as the model
sees it at inference, each reply with its end-of-turn token, replies cut to ``max_length``). An
unusable pair (identical replies, a prompt that fills the context, special tokens in the text) goes
to ``on_reject`` with its reason, so records in = pairs used + pairs rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ru_llm.core.errors import RecordError
from ru_llm.core.jsonl import Reject
from ru_llm.train.data.collate import TokenCounter
from ru_llm.train.data.encode import EncodeStats, reason_key


def encode_pairs(
    pairs: Iterable[Any],
    template: Any,
    tokenizer: Any,
    *,
    max_length: int,
    max_prompt_length: int | None,
    on_reject: Callable[[Reject], object],
    stats: EncodeStats,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, list[int]]]:
    """Token ids of every usable pair (``PreferencePair``s from ``ru_llm.dataset.preference``).

    ``stats.tokens`` counts the tokens of both sequences of a pair, ``stats.trained_tokens`` the reply
    tokens, and ``stats.truncated`` the pairs whose replies were cut to ``max_length``.
    """
    from ru_llm.dataset.templates.preference import tokenize_preference

    rows: list[dict[str, list[int]]] = []
    for i, pair in enumerate(pairs):
        if limit is not None and i >= limit:
            break
        stats.records += 1
        try:
            tokens = tokenize_preference(
                pair.prompt,
                pair.chosen,
                pair.rejected,
                template,
                tokenizer,
                max_length=max_length,
                max_prompt_length=max_prompt_length,
            )
        except RecordError as e:
            stats.rejected[reason_key(e.reason)] += 1
            on_reject(Reject(e.reason, record_id=pair.prompt.id, record=pair.to_dict(), source=pair.prompt.source))
            continue
        stats.used += 1
        stats.truncated += tokens.truncated
        replies = len(tokens.chosen_ids) + len(tokens.rejected_ids)
        stats.tokens += 2 * len(tokens.prompt_ids) + replies
        stats.trained_tokens += replies
        rows.append(tokens.to_dict())
        if progress is not None:
            progress(1)
    return rows


def counting_preference_collator(pad_id: int, counter: TokenCounter) -> Callable[[list[dict[str, Any]]], Any]:
    """TRL's preference collator (chosen and rejected sequences in one padded batch), counting real tokens."""
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    # max_length=None: the pairs are cut to the run's max_length when encoded (with rejects for
    # pairs that would lose their replies); the collator must not cut again.
    collate = DataCollatorForPreference(pad_token_id=pad_id, max_length=None, pad_to_multiple_of=None)

    def collator(examples: list[dict[str, Any]]) -> Any:
        batch = collate(examples)
        counter.collated(int(batch["attention_mask"].sum()))
        return batch

    return collator
