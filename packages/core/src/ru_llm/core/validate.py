"""The turn rules every conversation obeys, written once for the whole toolkit.

A conversation is an optional system message, then user and assistant turns alternating, starting
with the user and ending with an assistant reply; no message is empty or only whitespace. The prompt
of a preference pair obeys the same rules up to its final user turn (it ends on the user instead).

``dataset load`` (every builder), ``dataset build``, a training run's readers and the preference
reader all ask :func:`turn_problem`, so a record gets one verdict with one reason wherever it is read,
and records in = records used + records rejected holds with the same counts at every stage. Reasons
are a fixed phrase with the message positions in parentheses, e.g. ``two user turns in a row
(messages 1 and 2)``: counting rejects by the text before `` (`` groups them by kind.

Builders that convert another layout may repair before checking (``dataset``'s ``normalize_turns``:
turns of one role in a row are merged, a trailing user turn is trimmed); the two switches of
:func:`turn_problem` leave those two rules to the repair, so positions still name the input's messages.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

from ru_llm.core.conversation import Conversation, Message
from ru_llm.core.errors import RecordError
from ru_llm.core.jsonl import JsonlReader

#: the reason of a conversation whose last turn is not an assistant reply
NO_FINAL_REPLY = "does not end with an assistant reply"
#: the reason of a preference prompt whose last turn is not the user's
PROMPT_ENDS_ON_ASSISTANT = "prompt ends on an assistant turn"
#: the reason of a conversation with nothing but system messages
NO_TURNS = "no user or assistant turn"
TURN_HINT = (
    "a conversation is an optional system message, then user and assistant turns alternating, "
    "from a user turn to an assistant reply, none of them empty"
)


def turn_problem(
    messages: Sequence[Message],
    *,
    final: Literal["assistant", "user"] | None = "assistant",
    runs: bool = False,
) -> str | None:
    """Why ``messages`` break the turn rules, or ``None`` when they keep them.

    The first problem in message order wins, then the last turn is checked.

    :param final: the role the last message must have: ``"assistant"`` for a conversation, ``"user"``
        for the prompt of a preference pair, ``None`` when the caller trims trailing user turns itself.
    :param runs: allow turns of one role in a row (the caller merges them).
    """
    previous: str | None = None
    started = False  # a user or assistant turn was seen
    for i, message in enumerate(messages):
        role = message.role
        if not message.content.strip():
            return f"empty {role} message (message {i})"
        if role == "system":
            if started:
                return f"system message after the conversation started (message {i})"
        elif not started:
            if role == "assistant":
                return f"the first turn is the assistant's (message {i})"
            started = True
        if role == previous and not runs:
            return f"two {role} turns in a row (messages {i - 1} and {i})"
        previous = role
    if not started:
        return NO_TURNS
    if final is not None and previous != final:
        return NO_FINAL_REPLY if final == "assistant" else PROMPT_ENDS_ON_ASSISTANT
    return None


def checked_conversation(data: object, *, location: str | None = None) -> Conversation:
    """:meth:`Conversation.from_dict` plus the turn rules: the one way a conversation record is read
    for training or building. Raises :class:`RecordError` with the reason otherwise."""
    conv = Conversation.from_dict(data, location=location)
    problem = turn_problem(conv.messages)
    if problem is not None:
        raise RecordError(problem, record_id=conv.id, location=location, hint=TURN_HINT)
    return conv


def read_checked_conversations(path: str | os.PathLike[str], **options: Any) -> JsonlReader[Conversation]:
    """The conversations of a JSONL file that keep the turn rules (options as
    :func:`~ru_llm.core.jsonl.read_conversations`: ``strict``, ``on_reject``)."""
    return JsonlReader(path, checked_conversation, **options)


__all__ = [
    "NO_FINAL_REPLY",
    "NO_TURNS",
    "PROMPT_ENDS_ON_ASSISTANT",
    "TURN_HINT",
    "checked_conversation",
    "read_checked_conversations",
    "turn_problem",
]
