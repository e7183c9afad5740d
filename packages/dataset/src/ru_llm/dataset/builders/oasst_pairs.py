"""OpenAssistant OASST1 as preference pairs: the human rankings of sibling assistant replies.

OASST1's volunteers ranked the assistant replies to one prompter message against each other
(``rank`` 0 is the best). This builder reads the same trees as ``oasst1`` (either layout: the tree
export or the hub's message rows, with the same grouping and the same filtering of deleted,
review-failed, empty, spam and, with ``skip_synthetic``, model-written messages and their subtrees;
see :mod:`ru_llm.dataset.builders.oasst`) and turns every prompter message that still has at least two
*ranked* assistant replies into pairs. Unranked replies never enter a pair. The replies are ordered by
rank (ties in input order), and ``pairs`` says which pairs are made:

* ``best_worst`` (default): one pair, the best-ranked reply (rank 0 unless it was filtered out)
  against the worst-ranked one;
* ``best_vs_rest``: the best-ranked reply against each reply of a worse rank;
* ``all``: every pair of replies with different ranks, the better one chosen.

Two replies with the same rank make no pair, nor do two replies with the same text (whitespace
stripped). The prompt is the thread from the tree's root to that prompter message: the earlier
assistant turns are the replies on that path. A pair's id is
``oasst1-<prompter message id>-<chosen id>-<rejected id>``, stable across runs and modes; its source
is ``oasst1`` and its meta holds the tree id, the message ids and both ranks. A tree of another
language (option ``lang``; null keeps every language) or without a pair is a rejected row with the
reason.

OASST1 is Apache-2.0 and written by people (the ``synthetic`` messages aside), so the pairs are
cleared for commercial use; its Russian trees (``lang: ru``) are a commercial preference source for
Russian DPO.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from ru_llm.core.conversation import Conversation, Message
from ru_llm.core.errors import RecordError
from ru_llm.dataset.builders.common import check_bool, check_choice
from ru_llm.dataset.builders.oasst import OasstBuilder, _Node, prune_tree
from ru_llm.dataset.preference import PreferencePair
from ru_llm.dataset.rows import Row

PAIRS = ("best_worst", "best_vs_rest", "all")


@dataclass(frozen=True)
class OasstPairsOptions:
    #: keep trees whose prompt is in this language ("en", "ru", ...); null keeps every language
    lang: str | None = "en"
    #: "best_worst": rank 0 against the worst; "best_vs_rest": rank 0 against each worse reply;
    #: "all": every pair of differently ranked replies
    pairs: str = "best_worst"
    #: skip messages (and their replies) whose spam label is above this
    max_spam: float = 0.4
    #: skip messages written by models (OASST's "synthetic" flag)
    skip_synthetic: bool = False

    def __post_init__(self) -> None:
        if self.lang is not None and (not isinstance(self.lang, str) or not self.lang.strip()):
            raise ValueError(f"option 'lang' must be a language code or null, got {self.lang!r}")
        check_choice("pairs", self.pairs, PAIRS)
        if isinstance(self.max_spam, bool) or not isinstance(self.max_spam, (int, float)):
            raise ValueError(f"option 'max_spam' must be a number, got {self.max_spam!r}")
        check_bool("skip_synthetic", self.skip_synthetic)


class OasstPairsBuilder(OasstBuilder):
    name = "oasst1_pairs"
    hub_id = "OpenAssistant/oasst1"
    license = "Apache-2.0"
    commercial = True
    lang = "en"
    description = "OpenAssistant OASST1 human-ranked sibling replies as preference pairs (en, ru, ...)"
    aliases = ("oasst_pairs",)
    options_class = OasstPairsOptions
    produces = "preference"
    source_name = "oasst1"

    def convert(self, row: Row, options: OasstPairsOptions) -> Iterator[PreferencePair]:  # type: ignore[override]
        tree = prune_tree(row.record, options)
        pairs = []
        for path in _prompter_paths(tree.root, []):
            prompt_node = path[-1]
            ranked = sorted(
                (child for child in prompt_node.children if child.rank is not None),
                key=lambda node: (node.rank, node.order),
            )
            if len(ranked) < 2:
                continue
            messages = tuple(Message(node.role, node.text) for node in path)
            for chosen, rejected in _choose(ranked, options.pairs):
                if chosen.rank == rejected.rank or chosen.text.strip() == rejected.text.strip():
                    continue
                prompt = Conversation(
                    id=f"{self.source_name}-{prompt_node.id}-{chosen.id}-{rejected.id}",
                    messages=messages,
                    source=self.source_name,
                    lang=tree.lang,
                    license=self.license,
                    meta={
                        "message_tree_id": tree.tree_id,
                        "prompt_message_id": prompt_node.id,
                        "chosen_id": chosen.id,
                        "rejected_id": rejected.id,
                        "chosen_rank": chosen.rank,
                        "rejected_rank": rejected.rank,
                        "ranked_replies": len(ranked),
                        "pairs": options.pairs,
                    },
                )
                pairs.append(PreferencePair(prompt, chosen.text, rejected.text))
        if not pairs:
            raise RecordError(
                "no preference pair: no prompt has two differently ranked, different replies left",
                record_id=tree.tree_id,
            )
        yield from pairs


def _prompter_paths(node: _Node, path: list[_Node]) -> Iterator[list[_Node]]:
    """The path from the root to every prompter message, in tree order."""
    path = [*path, node]
    if node.role == "user":
        yield path
    for child in node.children:
        yield from _prompter_paths(child, path)


def _choose(ranked: list[_Node], mode: str) -> Iterator[tuple[_Node, _Node]]:
    """(chosen, rejected) candidates from replies sorted best first."""
    if mode == "best_worst":
        worst = max(ranked, key=lambda node: node.rank)  # the first of the worst rank, in input order
        yield ranked[0], worst
    elif mode == "best_vs_rest":
        for other in ranked[1:]:
            yield ranked[0], other
    else:
        yield from itertools.combinations(ranked, 2)
