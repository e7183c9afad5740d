"""Helpers shared by the built-in converters: field checks, turn normalisation, option checks.

Turn rules: every conversation a builder produces keeps :func:`ru_llm.core.validate.turn_problem`'s
rules (an optional system message, then user/assistant turns alternating, starting with the user and
ending with the assistant, none empty), and a record that breaks one is rejected with that function's
reason, the one training and the preference reader give too. Converting another layout
(:func:`normalize_turns`) first reads the roles and may repair two things, as docs/datasets.md says:

* a role outside ``system``/``user``/``assistant``, their aliases and the source's own names is a
  rejection naming it, and so is content that is not a string;
* consecutive turns of one role (non-alternating) are merged with a blank line between them, and
  ``meta["merged_turns"]`` counts the merges; with the option ``non_alternating: reject`` they are
  a rejection instead. Merging keeps the text (ShareGPT exports often split one reply in two);
* trailing user turns (a question nobody answered) are removed, and ``meta["trimmed_trailing_user"]``
  says how many; a conversation with no assistant reply left is a rejection.

The reasons name the positions of the messages as they came in, before any merge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ru_llm.core.conversation import Message, canonical_role
from ru_llm.core.errors import RecordError
from ru_llm.core.validate import NO_FINAL_REPLY, TURN_HINT, turn_problem
from ru_llm.dataset.json_values import json_type
from ru_llm.dataset.json_values import own_id as own_id  # re-exported: converters of plugins read it here
from ru_llm.dataset.rows import Row

NON_ALTERNATING = ("merge", "reject")


# -- options ------------------------------------------------------------------------------------
def check_choice(option: str, value: object, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"option {option!r} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def check_bool(option: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"option {option!r} must be true or false, got {value!r}")


def check_optional_str(option: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"option {option!r} must be a non-empty string or null, got {value!r}")


# -- records ------------------------------------------------------------------------------------
def as_object(row: Row) -> Mapping[str, Any]:
    """The row's record as a JSON object, or a rejection saying what it was instead."""
    if not isinstance(row.record, Mapping):
        raise RecordError(f"expected a JSON object, got {json_type(row.record)}")
    return row.record


def text_field(record: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    """A string field; missing/null is ``""`` unless ``required`` (then a rejection), as is a blank one."""
    value = record.get(key)
    if value is None:
        if required:
            raise RecordError(f"missing field {key!r}")
        return ""
    if not isinstance(value, str):
        raise RecordError(f"field {key!r} must be a string, got {json_type(value)}")
    if required and not value.strip():
        raise RecordError(f"field {key!r} is empty")
    return value


def index_id(name: str, row: Row) -> str:
    """A stable id from the builder name and the row's position in the source."""
    return f"{name}-{row.index:05d}"


def message_list(value: object, *, field: str = "messages") -> list[tuple[object, object]]:
    """``(role, content)`` pairs from a list of ``{"role", "content"}`` objects or from the column
    layout the hub uses for sequences of structs: ``{"role": [...], "content": [...]}``."""
    if isinstance(value, Mapping):
        roles, contents = value.get("role"), value.get("content")
        if not isinstance(roles, list) or not isinstance(contents, list):
            raise RecordError(f"{field!r} must have 'role' and 'content' lists, got keys {sorted(map(str, value))}")
        if len(roles) != len(contents):
            raise RecordError(f"{field!r} has {len(roles)} roles but {len(contents)} contents")
        return list(zip(roles, contents, strict=True))
    if not isinstance(value, list):
        raise RecordError(f"{field!r} must be a list of messages, got {json_type(value)}")
    pairs = []
    for i, message in enumerate(value):
        if not isinstance(message, Mapping):
            raise RecordError(f"message {i} must be an object, got {json_type(message)}")
        if "role" not in message or "content" not in message:
            raise RecordError(f"message {i} needs 'role' and 'content', got keys {sorted(map(str, message))}")
        pairs.append((message["role"], message["content"]))
    return pairs


def normalize_turns(
    turns: Iterable[tuple[object, object]],
    *,
    non_alternating: str = "merge",
    roles: Mapping[str, str] | None = None,
) -> tuple[list[Message], dict[str, int]]:
    """Validated messages in the one shape every conversation has (see the module docstring).

    :param roles: extra role names of this source (lower case) mapped to canonical roles.
    :returns: the messages and notes for ``meta`` (``merged_turns``, ``trimmed_trailing_user``).
    """
    read: list[Message] = []
    for i, (raw_role, content) in enumerate(turns):
        role = canonical_role(raw_role)
        if role is None and isinstance(raw_role, str) and roles:
            role = roles.get(raw_role.strip().lower())
        if role is None:
            raise RecordError(f"message {i} has unknown role {raw_role!r}")
        if not isinstance(content, str):
            raise RecordError(f"message {i} ({role}) content must be a string, got {json_type(content)}")
        read.append(Message(role, content))
    merge = non_alternating == "merge"
    problem = turn_problem(read, final=None, runs=merge)  # the two repairs below settle the rest
    if problem is not None:
        raise RecordError(problem, hint=TURN_HINT)
    notes: dict[str, int] = {}
    messages: list[Message] = []
    for message in read:
        if merge and messages and messages[-1].role == message.role:
            messages[-1] = Message(message.role, messages[-1].content + "\n\n" + message.content)
            notes["merged_turns"] = notes.get("merged_turns", 0) + 1
        else:
            messages.append(message)
    trimmed = 0
    while messages and messages[-1].role == "user":
        messages.pop()
        trimmed += 1
    if not any(m.role == "assistant" for m in messages):
        raise RecordError(NO_FINAL_REPLY, hint=TURN_HINT)
    if trimmed:
        notes["trimmed_trailing_user"] = trimmed
    return messages, notes
