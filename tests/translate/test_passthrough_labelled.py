"""The non-prose detector on real labelled segments: nothing non-prose is sent, prose is (issue 16).

The segments are cut from the bundled OASST trees, self-instruct tasks and MT-Bench texts and labelled by
hand (tests/data/translate_passthrough/README.md); scoring lives in tests/kit/passthrough.py, shared
with bench/translate_passthrough.py.
"""

from __future__ import annotations

import re

import pytest
from kit.passthrough import (
    NONPROSE_CLASSES,
    PROSE_CLASSES,
    fenced_only,
    is_sent,
    judged_spans,
    load_segments,
    score,
    sent_mask,
)

from ru_llm.translate.segment import Piece

SEGMENTS = load_segments()
_SOURCE = re.compile(
    r"^(oasst:[0-9a-f-]{36}|self_instruct:\w+:(instruction|\d+:(input|output))|mt_bench_(ref|q):\d+:\d)$"
)


@pytest.fixture(scope="module")
def result() -> dict:
    return score(SEGMENTS)


def test_the_set_is_large_labelled_and_covers_every_class() -> None:
    assert len(SEGMENTS) >= 200
    labels = [segment["label"] for segment in SEGMENTS]
    assert labels.count("nonprose") >= 80 and labels.count("prose") >= 100
    assert len({segment["id"] for segment in SEGMENTS}) == len(SEGMENTS)
    assert len({segment["text"] for segment in SEGMENTS}) == len(SEGMENTS)
    assert {segment["class"] for segment in SEGMENTS} == set(NONPROSE_CLASSES) | set(PROSE_CLASSES)
    for segment in SEGMENTS:
        expected = "prose" if segment["class"] in PROSE_CLASSES else "nonprose"
        assert segment["label"] == expected, segment["id"]
        assert _SOURCE.match(segment["source"]), segment["id"]
        assert segment["licence"].startswith("Apache-2.0"), segment["id"]
        assert segment["text"].strip() and any(ch.isalpha() for ch in segment["text"]), segment["id"]
        if "check" in segment:
            assert segment["check"] and all(part in segment["text"] for part in segment["check"]), segment["id"]
            assert any(segment["text"][a:b].strip() for a, b in judged_spans(segment)), segment["id"]


def test_scoring_counts_letters_sent_outside_protected_spans() -> None:
    text = "Run `ls -l` now\n    ls -l\n"
    pieces = [
        Piece("Run [1] now", True, ("`ls -l`",), kind="prose"),
        Piece("\n", False, kind="layout"),
        Piece("    ls -l\n", False, kind="code_block"),
    ]
    mask = sent_mask(text, pieces)
    assert "".join(ch for ch, sent in zip(text, mask, strict=True) if sent) == "Run  now"

    def segmenter(_: str) -> list[Piece]:
        return pieces

    inline = {"id": "t", "text": text, "label": "nonprose", "class": "code", "check": ["`ls -l`"]}
    indented = dict(inline, check=["    ls -l\n"])
    assert not is_sent(inline, segmenter) and not is_sent(indented, segmenter)
    assert is_sent(dict(inline, check=["Run"]), segmenter)
    assert is_sent({k: v for k, v in inline.items() if k != "check"}, segmenter)


def test_the_fenced_only_baseline_keeps_fences_and_sends_the_rest() -> None:
    text = "Install it:\n```sh\npip install x\n```\n    indented code\n```one line```"
    pieces = fenced_only(text)
    assert "".join(piece.source for piece in pieces) == text
    assert [piece.text for piece in pieces if piece.translate] == ["Install it:", "indented code"]


def test_nothing_non_prose_is_sent(result: dict) -> None:
    per_class = {k: v for k, v in result["per_class"].items() if v["label"] == "nonprose"}
    assert result["nonprose_recall"] == 1.0, (
        f"non-prose sent to MT: {result['nonprose_sent_ids']}; recall per class: "
        + ", ".join(f"{klass} {row['rate']}" for klass, row in per_class.items())
    )


def test_prose_is_sent(result: dict) -> None:
    assert result["prose_sent_rate"] >= 0.98, (
        f"prose kept out of MT: {result['prose_kept_ids']}; lines kept: {result['prose_lines_kept']}"
    )
