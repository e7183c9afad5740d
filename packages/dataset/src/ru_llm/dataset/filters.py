"""Checks every conversation of a built dataset must pass; each failure is a reject reason."""

from __future__ import annotations

from collections.abc import Callable

from ru_llm.core.conversation import Conversation
from ru_llm.core.validate import turn_problem
from ru_llm.dataset.recipe import FilterSpec

Check = Callable[[Conversation], "str | None"]


def turn_structure(conv: Conversation) -> str | None:
    """The turn rules every stage applies (:func:`ru_llm.core.validate.turn_problem`), with its reasons."""
    return turn_problem(conv.messages)


def spec_checks(spec: FilterSpec) -> list[Check]:
    """The checks a recipe's ``filters`` asks for, in a cheap-first order."""
    checks: list[Check] = []
    if spec.languages is not None:
        allowed = set(spec.languages)
        checks.append(lambda c: None if c.lang in allowed else f"filter: language {c.lang!r} not in {sorted(allowed)}")
    if spec.drop_flags:
        dropped = set(spec.drop_flags)

        def flags(c: Conversation) -> str | None:
            translation = c.meta.get("translation")
            raw = translation.get("flags") if isinstance(translation, dict) else None
            if raw is None:
                return None
            if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
                return "filter: meta.translation.flags is not a list of strings"
            found = sorted(dropped & set(raw))
            return f"filter: translation flag {found[0]}" if found else None

        checks.append(flags)
    if spec.max_turns is not None:
        limit = spec.max_turns
        checks.append(lambda c: f"filter: more than {limit} turns" if len(c.turns("user")) > limit else None)
    if spec.min_chars > 0:
        shortest = spec.min_chars
        checks.append(
            lambda c: (
                f"filter: an assistant reply is shorter than {shortest} characters"
                if min(len(m.content.strip()) for m in c.turns("assistant")) < shortest
                else None
            )
        )
    if spec.max_chars is not None:
        longest = spec.max_chars
        checks.append(
            lambda c: (
                f"filter: longer than {longest} characters"
                if sum(len(m.content) for m in c.messages) > longest
                else None
            )
        )
    return checks


def first_failure(conv: Conversation, checks: list[Check]) -> str | None:
    """The reason of the first check ``conv`` fails, or ``None``."""
    for check in checks:
        reason = check(conv)
        if reason is not None:
            return reason
    return None
