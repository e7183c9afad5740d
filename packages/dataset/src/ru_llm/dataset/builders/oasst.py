"""OpenAssistant OASST1: message trees turned into threads (root prompt → … → assistant reply).

Two input layouts are recognised row by row:

* the tree export (``*.trees.jsonl``): one tree per line, ``{"message_tree_id", "prompt": {...,
  "replies": [...]}}``, labels as ``{"spam": {"value", "count"}}``;
* the Hugging Face rows: one message per row (``message_id``, ``parent_id``, ``message_tree_id``,
  ``role``, ``text``, ``rank``, ``labels: {"name": [...], "value": [...]}``, ...). Rows are grouped
  into trees. The hub split is ordered by tree, so trees are streamed one at a time; a local file
  whose trees are interleaved is detected by a first pass over the tree ids and grouped in memory.

A message is skipped with its whole subtree when it is deleted, failed review
(``review_result: false``), is empty, has a spam label above ``max_spam``, is synthetic (with
``skip_synthetic``) or has the same role as its parent. What survives is the tree the modes read:

* ``mode: all`` (default): every root-to-leaf path whose leaf is an assistant message, the paper's
  definition. A path whose leaf is a prompt nobody answered is not a thread, and neither is any
  prefix of it: an assistant reply followed only by unanswered prompts is no leaf;
* ``mode: all_trimmed``: the same paths once every prompt nobody answered is removed too: ``all``
  plus the threads that end on a reply whose follow-ups were all left unanswered (what ``mode: all``
  gave in earlier releases);
* ``mode: main``: one thread per tree following the best-ranked reply at each step (rank 0 first,
  unranked last, ties in input order), as Saiga's oasst1_ru_main_branch. When the best-ranked reply
  is a prompt nobody answered, the thread stops there and ends on the assistant message before it;
  it never continues down a lower-ranked branch.

A thread's id is ``oasst1-<last message id>``, so one path has one id in every mode. A tree of
another language, or with no thread left, is a rejected row with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.conversation import Conversation, Message
from ru_llm.core.errors import RecordError
from ru_llm.core.jsonl import Reject
from ru_llm.dataset.builders.base import DatasetBuilder, OnReject
from ru_llm.dataset.builders.common import check_bool, check_choice, json_type
from ru_llm.dataset.rows import Row, read_rows

MODES = ("all", "all_trimmed", "main")
_ROLES = {"prompter": "user", "assistant": "assistant"}


@dataclass(frozen=True)
class OasstOptions:
    #: keep trees whose prompt is in this language ("en", "ru", ...); null keeps every language
    lang: str | None = "en"
    #: "all": every root-to-leaf path ending on an assistant message (the paper); "all_trimmed": the
    #: same with unanswered prompts removed first; "main": the best-ranked branch (Saiga)
    mode: str = "all"
    #: skip messages (and their replies) whose spam label is above this
    max_spam: float = 0.4
    #: skip messages written by models (OASST's "synthetic" flag), as Saiga did
    skip_synthetic: bool = False

    def __post_init__(self) -> None:
        if self.lang is not None and (not isinstance(self.lang, str) or not self.lang.strip()):
            raise ValueError(f"option 'lang' must be a language code or null, got {self.lang!r}")
        check_choice("mode", self.mode, MODES)
        if isinstance(self.max_spam, bool) or not isinstance(self.max_spam, (int, float)):
            raise ValueError(f"option 'max_spam' must be a number, got {self.max_spam!r}")
        check_bool("skip_synthetic", self.skip_synthetic)


@dataclass
class _Node:
    id: str
    role: str  # canonical: user / assistant
    text: str
    rank: float | None
    order: int
    children: list[_Node] = field(default_factory=list)


def spam_score(labels: object) -> float | None:
    """The spam label's value in either layout (tree export or hub rows), or ``None``."""
    if not isinstance(labels, Mapping):
        return None
    spam = labels.get("spam")
    if isinstance(spam, Mapping):
        value = spam.get("value")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    names, values = labels.get("name"), labels.get("value")
    if isinstance(names, list) and isinstance(values, list) and "spam" in names:
        value = values[names.index("spam")] if names.index("spam") < len(values) else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return None


def _is_flat(record: object) -> bool:
    return isinstance(record, Mapping) and "message_id" in record and "prompt" not in record


class OasstBuilder(DatasetBuilder):
    name = "oasst1"
    hub_id = "OpenAssistant/oasst1"
    license = "Apache-2.0"
    commercial = True
    lang = "en"
    description = "OpenAssistant OASST1 conversation trees as threads (main branch or every thread)"
    aliases = ("oasst",)
    options_class = OasstOptions

    def info(self, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        info = super().info(options)
        if options is not None:
            info["lang"] = self.parse_options(options).lang
        return info

    # -- rows: trees, grouped from flat message rows when needed -----------------------------------
    def rows(self, source: Path | None, options: Any, on_reject: OnReject) -> Iterator[Row]:
        interleaved = source is not None and _interleaved(read_rows(source, lambda reject: None))
        return self._trees(super().rows(source, options, on_reject), on_reject, in_memory=interleaved)

    def _trees(self, rows: Iterator[Row], on_reject: OnReject, *, in_memory: bool) -> Iterator[Row]:
        index = 0
        group: list[Row] = []
        groups: dict[str, list[Row]] = {}
        finished: set[str] = set()
        for row in rows:
            if not _is_flat(row.record):
                yield Row(row.location, index, row.record, file=row.file, line=row.line)
                index += 1
                continue
            tree_id = row.record.get("message_tree_id")
            if not isinstance(tree_id, str) or not tree_id:
                on_reject(_reject(row, f"'message_tree_id' must be a non-empty string, got {json_type(tree_id)}"))
                continue
            if in_memory:
                groups.setdefault(tree_id, []).append(row)
                continue
            if group and group[0].record["message_tree_id"] != tree_id:
                finished.add(group[0].record["message_tree_id"])
                yield from self._tree_row(group, index, on_reject)
                index += 1
                group = []
            if tree_id in finished:
                on_reject(
                    _reject(row, f"message of tree {tree_id} comes after other trees (input not grouped by tree)")
                )
                continue
            group.append(row)
        if group:
            yield from self._tree_row(group, index, on_reject)
        for rows_of_tree in groups.values():
            yield from self._tree_row(rows_of_tree, index, on_reject)
            index += 1

    def _tree_row(self, rows: list[Row], index: int, on_reject: OnReject) -> Iterator[Row]:
        """One tree-export-shaped row from a tree's flat messages; unreachable messages are rejected."""
        nodes: dict[str, dict[str, Any]] = {}
        roots = []
        for row in rows:
            message_id = row.record.get("message_id")
            if not isinstance(message_id, str) or not message_id or message_id in nodes:
                reason = "duplicate 'message_id'" if message_id in nodes else "'message_id' must be a non-empty string"
                on_reject(_reject(row, reason))
                continue
            nodes[message_id] = {**row.record, "replies": []}
        for node in nodes.values():
            parent = node.get("parent_id")
            if parent is None:
                roots.append(node)
            elif parent in nodes:
                nodes[parent]["replies"].append(node)
        reachable: set[str] = set()
        stack = [roots[0]] if len(roots) == 1 else []
        while stack:
            node = stack.pop()
            reachable.add(node["message_id"])
            stack.extend(node["replies"])
        tree_id = rows[0].record["message_tree_id"]
        why = f"tree {tree_id} has {len(roots)} root prompts (messages with parent_id null); it needs one"
        for row in rows:
            message_id = row.record.get("message_id")
            if isinstance(message_id, str) and message_id in nodes and message_id not in reachable:
                if len(roots) == 1:
                    why = f"parent {nodes[message_id].get('parent_id')!r} is not in tree {tree_id}"
                on_reject(_reject(row, why))
                nodes.pop(message_id)
        if len(roots) == 1:
            first = rows[0]
            record = {"message_tree_id": tree_id, "prompt": roots[0]}
            yield Row(f"{first.location} (tree {tree_id})", index, record, file=first.file, line=first.line)

    # -- converting a tree -----------------------------------------------------------------------
    def convert(self, row: Row, options: OasstOptions) -> Iterator[Conversation]:
        tree = prune_tree(row.record, options)
        if not tree.root.children:
            raise RecordError(
                "no thread left: the prompt has no assistant reply that is not deleted, review-failed or spam",
                record_id=tree.tree_id,
            )
        threads = _THREADS[options.mode](tree.root)
        if not threads:
            raise RecordError(
                f"no thread left: every path ends on a prompt nobody answered (mode {options.mode!r})",
                record_id=tree.tree_id,
            )
        for thread in threads:
            yield Conversation(
                id=f"{self.name}-{thread[-1].id}",
                messages=tuple(Message(node.role, node.text) for node in thread),
                source=self.name,
                lang=tree.lang,
                license=self.license,
                meta={"message_tree_id": tree.tree_id, "thread": options.mode},
            )


@dataclass(frozen=True)
class PrunedTree:
    """A tree after filtering: its root prompt (with every surviving reply below it), id and language."""

    root: _Node
    tree_id: Any
    lang: str | None


def prune_tree(record: object, options: Any) -> PrunedTree:
    """The tree of one row (tree-export shape) after the language check and message filtering.

    ``options`` needs ``lang``, ``max_spam`` and ``skip_synthetic`` (as :class:`OasstOptions`). Raises
    :class:`RecordError` for a record that is no tree, a tree of another language, a first message
    that is no prompt, or a root prompt that is itself filtered out.
    """
    if not isinstance(record, Mapping) or not isinstance(record.get("prompt"), Mapping):
        got = sorted(map(str, record)) if isinstance(record, Mapping) else json_type(record)
        raise RecordError(f"expected a message tree ('prompt') or a message row ('message_id'), got {got}")
    prompt = record["prompt"]
    tree_id = record.get("message_tree_id") or prompt.get("message_id")
    lang = prompt.get("lang")
    if options.lang is not None and (not isinstance(lang, str) or lang.lower() != options.lang.lower()):
        raise RecordError(f"tree language {lang!r} is not {options.lang!r} (option 'lang')", record_id=tree_id)
    if prompt.get("role") != "prompter":
        raise RecordError(f"the tree's first message has role {prompt.get('role')!r}, not 'prompter'")
    root = _prune(prompt, "user", options, [0])
    if root is None:
        raise RecordError(
            "no thread left: the prompt has no assistant reply that is not deleted, review-failed or spam",
            record_id=tree_id,
        )
    return PrunedTree(root, tree_id, lang if isinstance(lang, str) else None)


def _prune(message: Any, role: str, options: Any, counter: list[int]) -> _Node | None:
    """The message as a node with its surviving replies, or ``None`` if it is skipped."""
    if not isinstance(message, Mapping):
        raise RecordError(f"a message must be an object, got {json_type(message)}")
    message_id = message.get("message_id")
    text = message.get("text")
    if not isinstance(message_id, str) or not isinstance(text, str):
        raise RecordError(f"message {message_id!r}: 'message_id' and 'text' must be strings")
    if _ROLES.get(message.get("role")) != role:  # a reply must answer the other side
        return None
    if message.get("deleted") is True or message.get("review_result") is False or not text.strip():
        return None
    if options.skip_synthetic and message.get("synthetic") is True:
        return None
    spam = spam_score(message.get("labels"))
    if spam is not None and spam > options.max_spam:
        return None
    replies = message.get("replies") or []
    if not isinstance(replies, list):
        raise RecordError(f"message {message_id}: 'replies' must be a list, got {json_type(replies)}")
    rank = message.get("rank")
    if isinstance(rank, bool) or not isinstance(rank, (int, float)) or rank != rank:  # None, NaN
        rank = None
    counter[0] += 1
    node = _Node(message_id, role, text, rank, counter[0])
    other = "user" if role == "assistant" else "assistant"
    for reply in replies:
        child = _prune(reply, other, options, counter)
        if child is not None:
            node.children.append(child)
    return node  # an unanswered prompt stays: it decides what is a leaf and what main follows


def _best(nodes: list[_Node]) -> _Node:
    return min(nodes, key=lambda n: (n.rank is None, n.rank if n.rank is not None else 0, n.order))


def _main_thread(root: _Node) -> list[list[_Node]]:
    """The best-ranked branch; it stops before a best-ranked prompt that nobody answered (Saiga)."""
    thread = [root]
    while thread[-1].children:
        best = _best(thread[-1].children)
        if best.role == "user" and not best.children:
            break
        thread.append(best)
    return [thread]


def _all_threads(root: _Node) -> list[list[_Node]]:
    """Every root-to-leaf path whose leaf is an assistant message (the paper's threads)."""
    return [path for path in _paths(root, []) if path[-1].role == "assistant"]


def _all_trimmed_threads(root: _Node) -> list[list[_Node]]:
    """The leaves of the tree without its unanswered prompts: ``all``, plus each assistant reply whose
    follow-ups are all unanswered prompts (once, however many of them there are)."""
    threads: dict[str, list[_Node]] = {}
    for path in _paths(root, []):
        if path[-1].role == "user":
            path = path[:-1]
            if any(child.children for child in path[-1].children):
                continue  # an answered follow-up extends this reply: it is no leaf
        threads.setdefault(path[-1].id, path)
    return list(threads.values())


def _paths(node: _Node, path: list[_Node]) -> Iterator[list[_Node]]:
    path = [*path, node]
    if not node.children:
        yield path
    for child in node.children:
        yield from _paths(child, path)


_THREADS = {"all": _all_threads, "all_trimmed": _all_trimmed_threads, "main": _main_thread}


def _reject(row: Row, reason: str) -> Reject:
    record = row.record if isinstance(row.record, Mapping) else None
    message_id = record.get("message_id") if record is not None else None
    return Reject(
        reason,
        file=row.file,
        line=row.line,
        record_id=message_id if isinstance(message_id, str) else None,
        record=row.record,
    )


def _interleaved(rows: Iterator[Row]) -> bool:
    """Whether a flat-message source has the messages of one tree apart (a first, cheap pass)."""
    seen: set[str] = set()
    current = None
    for row in rows:
        if not _is_flat(row.record):
            return False  # a tree export: nothing to group
        tree_id = row.record.get("message_tree_id")
        if tree_id == current or not isinstance(tree_id, str):
            continue
        if tree_id in seen:
            return True
        seen.add(tree_id)
        current = tree_id
    return False
