"""Tokens of a preference pair: one prompt, then the chosen and the rejected continuation.

Both replies are rendered through the same template as supervised training (so the prompt ends on
the assistant header the model sees at inference, and each reply keeps its end-of-turn token), and
tokenized whole like :func:`~ru_llm.dataset.templates.labels.tokenize_conversation`. The prompt is
the tokens the two renderings share before the first trained token; a reply is its trained tokens
(the template's trailing context, such as a newline after the end-of-turn token, is left out: a
served model stops at the end-of-turn token).

A pair that cannot teach anything is a :class:`RecordError` with the reason, never a silent sample:
identical replies, a prompt that fills the context, or replies that truncation makes identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ru_llm.core.conversation import Conversation, Message
from ru_llm.core.errors import ConfigError, RecordError
from ru_llm.core.labels import IGNORE_INDEX
from ru_llm.dataset.templates import Segment, Template
from ru_llm.dataset.templates.labels import refuse_special_tokens, tokenize_segments


@dataclass(frozen=True)
class PreferenceTokens:
    """``prompt_ids`` + ``chosen_ids`` and ``prompt_ids`` + ``rejected_ids`` are the two sequences."""

    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]
    #: whether a reply was cut to fit ``max_length``
    truncated: bool = False

    def to_dict(self) -> dict[str, list[int]]:
        return {"prompt_ids": self.prompt_ids, "chosen_ids": self.chosen_ids, "rejected_ids": self.rejected_ids}


def final_reply_only(template: Template, prompt: Conversation, segments: list[Segment]) -> list[Segment]:
    """The segments with only the last reply trainable (earlier replies in the prompt are context).

    What preference training trains of ``template.render(prompt + reply)``; ``dataset render`` shows it.

    The reply starts where the template's generation prompt for ``prompt`` ends; a template whose
    generation prompt is not a prefix of the rendering falls back to the last run of trainable segments.
    """
    text = "".join(s.text for s in segments)
    generation = template.render_prompt(prompt)
    if text.startswith(generation):
        start = len(generation)
    else:
        last = len(segments)
        while last > 0 and not segments[last - 1].trainable:
            last -= 1
        first = last
        while first > 0 and segments[first - 1].trainable:
            first -= 1
        start = sum(len(s.text) for s in segments[:first])
    masked: list[Segment] = []
    position = 0
    for segment in segments:
        end = position + len(segment.text)
        if end <= start or not segment.trainable:
            masked.append(Segment(segment.text, False))
        elif position >= start:
            masked.append(segment)
        else:  # the segment straddles the start of the reply
            masked += [
                Segment(segment.text[: start - position], False),
                Segment(segment.text[start - position :], True),
            ]
        position = end
    return masked


_final_reply_only = final_reply_only  # the old private name


def _reply_tokens(
    prompt: Conversation, reply: str, template: Template, tokenizer: Any, add_bos: bool | None
) -> tuple[list[int], int, int]:
    """The rendered ids of prompt + reply, where the trained reply starts, and where it ends."""
    whole = Conversation(
        prompt.id, (*prompt.messages, Message("assistant", reply)), prompt.source, prompt.lang, prompt.license
    )
    segments = final_reply_only(template, prompt, template.render(whole))
    ids, labels = tokenize_segments(segments, tokenizer, add_bos=add_bos)
    trained = [i for i, label in enumerate(labels) if label != IGNORE_INDEX]
    if not trained:
        raise RecordError(
            f"the {template.name} template gives no trainable reply token",
            record_id=prompt.id,
            hint="check the template: assistant replies must be trainable",
        )
    return ids, trained[0], trained[-1] + 1


def tokenize_preference(
    prompt: Conversation,
    chosen: str,
    rejected: str,
    template: Template,
    tokenizer: Any,
    *,
    max_length: int | None = None,
    max_prompt_length: int | None = None,
    add_bos: bool | None = None,
    allow_special_tokens: bool = False,
) -> PreferenceTokens:
    """Prompt, chosen and rejected token ids for one pair (see the module docstring).

    :param prompt: the shared conversation prefix; its last message is the user's.
    :param max_length: the longest prompt + reply sequence; longer replies keep their start.
    :param max_prompt_length: refuse a pair whose prompt is longer than this many tokens.
    """
    if max_length is not None and max_length < 2:
        raise ConfigError(f"max_length must be at least 2, got {max_length}")
    if not prompt.messages or prompt.messages[-1].role != "user":
        raise RecordError("the prompt must end on a user turn", record_id=prompt.id)
    if chosen == rejected:
        raise RecordError("chosen and rejected are identical", record_id=prompt.id, hint="drop the pair")
    if not allow_special_tokens:
        refuse_special_tokens(
            Conversation(prompt.id, (*prompt.messages, Message("assistant", chosen), Message("assistant", rejected))),
            tokenizer,
        )
    chosen_all, chosen_start, chosen_end = _reply_tokens(prompt, chosen, template, tokenizer, add_bos)
    rejected_all, rejected_start, rejected_end = _reply_tokens(prompt, rejected, template, tokenizer, add_bos)
    # The prompt is what both renderings share; a BPE merge across the prompt/reply boundary can make
    # them part a token early, and that token then belongs to the replies.
    shared = 0
    limit = min(chosen_start, rejected_start)
    while shared < limit and chosen_all[shared] == rejected_all[shared]:
        shared += 1
    prompt_ids = chosen_all[:shared]
    chosen_ids = chosen_all[shared:chosen_end]
    rejected_ids = rejected_all[shared:rejected_end]
    if max_prompt_length is not None and len(prompt_ids) > max_prompt_length:
        raise RecordError(
            f"prompt longer than max_prompt_length ({len(prompt_ids)} tokens, limit {max_prompt_length})",
            record_id=prompt.id,
            hint="raise max_prompt_length, or drop long prompts",
        )
    truncated = False
    if max_length is not None:
        if len(prompt_ids) >= max_length:
            raise RecordError(
                f"prompt fills max_length: no room for a reply ({len(prompt_ids)} prompt tokens, limit {max_length})",
                record_id=prompt.id,
                hint="raise max_length, or drop long prompts",
            )
        room = max_length - len(prompt_ids)
        truncated = len(chosen_ids) > room or len(rejected_ids) > room
        chosen_ids, rejected_ids = chosen_ids[:room], rejected_ids[:room]
    if chosen_ids == rejected_ids:
        raise RecordError(
            f"chosen and rejected are identical within max_length (the first {max_length} tokens)",
            record_id=prompt.id,
            hint="raise max_length, or drop the pair",
        )
    return PreferenceTokens(prompt_ids, chosen_ids, rejected_ids, truncated)
