"""Scoring the non-prose detector on the labelled segments of ``tests/data/translate_passthrough``.

Shared by ``tests/translate/test_passthrough_labelled.py`` and ``bench/translate_passthrough.py``.

A segment is *sent* when a letter of its judged part reaches the MT model: it lies in a piece with
``translate=True`` and outside that piece's protected spans (the ``[N]`` placeholders). The judged part
is the whole text, or the record's ``check`` strings (every occurrence) when it has them: the indented
code after its lead-in line, the ``$…$`` math of a sentence, the indented prose list after its lead-in.

* non-prose recall: share of non-prose segments not sent (goal 1.0: nothing non-prose is sent);
* prose sent rate: share of prose segments sent (the issue's "precision on prose", goal >= 0.98: prose
  is not left in English);
* prose precision (textbook): of the segments sent, the share that are prose;
* prose fully sent rate: share of prose segments none of whose lines with letters is kept whole (stricter:
  a prose list with one line kept verbatim counts as sent above, not here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ru_llm.translate.protect import PLACEHOLDER_RE
from ru_llm.translate.segment import Piece, segment_text

SEGMENTS = Path(__file__).resolve().parent.parent / "data" / "translate_passthrough" / "segments.jsonl"

NONPROSE_CLASSES = ("fenced_code", "indented_code", "code", "cli", "sql", "xml", "json", "latex")
"""The non-prose classes the real data holds (see the README there for the ones it lacks)."""
PROSE_CLASSES = (
    "prose",
    "prose_list",
    "prose_indented",
    "prose_heading",
    "prose_key_value",
    "prose_with_command",
    "prose_money",
)
ABSENT_CLASSES = ("shell_prompt", "stack_trace", "yaml", "tilde_fence", "display_math", "indented_one_line_command")
"""Classes of the issue that the bundled real data does not contain (nothing was invented for them)."""

Segmenter = Callable[[str], Sequence[Piece]]


def load_segments(path: Path = SEGMENTS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def sent_mask(text: str, pieces: Sequence[Piece]) -> list[bool]:
    """For each character of ``text``: does it go to the MT model (a translatable piece, outside its spans)?"""
    mask: list[bool] = []
    for piece in pieces:
        if not piece.translate:
            mask += [False] * len(piece.source)
            continue
        pos = 0
        for match in PLACEHOLDER_RE.finditer(piece.text):
            index = int(match.group(1))
            if not 1 <= index <= len(piece.spans):
                continue  # not a placeholder: restore_spans leaves it as it is, so it is sent
            mask += [True] * (match.start() - pos) + [False] * len(piece.spans[index - 1])
            pos = match.end()
        mask += [True] * (len(piece.text) - pos)
    if len(mask) != len(text) or "".join(piece.source for piece in pieces) != text:
        raise AssertionError("the pieces do not rebuild the text: the segmenter broke its contract")
    return mask


def judged_spans(segment: dict[str, Any]) -> list[tuple[int, int]]:
    """(start, end) of the judged parts of a segment: every occurrence of each ``check`` string, or all of it."""
    text = segment["text"]
    if "check" not in segment:
        return [(0, len(text))]
    spans = [(m.start(), m.end()) for part in segment["check"] for m in re.finditer(re.escape(part), text)]
    if not spans:
        raise AssertionError(f"{segment['id']}: its check strings are not in its text")
    return spans


def is_sent(segment: dict[str, Any], segmenter: Segmenter = segment_text) -> bool:
    text = segment["text"]
    mask = sent_mask(text, segmenter(text))
    return any(mask[i] and text[i].isalpha() for start, end in judged_spans(segment) for i in range(start, end))


def kept_lines(segment: dict[str, Any], segmenter: Segmenter = segment_text) -> list[str]:
    """The lines of the judged part that hold letters but send none (for prose: lines left in English)."""
    text = segment["text"]
    mask = sent_mask(text, segmenter(text))
    kept = []
    for start, end in judged_spans(segment):
        pos = start
        for line in text[start:end].split("\n"):
            letters = [i for i in range(pos, pos + len(line)) if text[i].isalpha()]
            if letters and not any(mask[i] for i in letters):
                kept.append(line)
            pos += len(line) + 1
    return kept


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def score(segments: Sequence[dict[str, Any]], segmenter: Segmenter = segment_text) -> dict[str, Any]:
    """Recall on non-prose, sent rate and precision on prose, per-class counts, and the ids that fail."""
    per_class: dict[str, dict[str, Any]] = {}
    nonprose_sent: list[str] = []
    prose_kept: list[str] = []
    prose_lines_kept: dict[str, list[str]] = {}
    for segment in segments:
        sent = is_sent(segment, segmenter)
        prose = segment["label"] == "prose"
        if prose and (lines := kept_lines(segment, segmenter)):
            prose_lines_kept[segment["id"]] = lines
        row = per_class.setdefault(segment["class"], {"label": segment["label"], "segments": 0, "sent": 0})
        row["segments"] += 1
        row["sent"] += sent
        if prose and not sent:
            prose_kept.append(segment["id"])
        elif not prose and sent:
            nonprose_sent.append(segment["id"])
    for row in per_class.values():
        ok = row["sent"] if row["label"] == "prose" else row["segments"] - row["sent"]
        row["rate"] = _ratio(ok, row["segments"])  # recall for non-prose, sent rate for prose
    n_prose = sum(1 for s in segments if s["label"] == "prose")
    n_nonprose = len(segments) - n_prose
    prose_sent = n_prose - len(prose_kept)
    return {
        "segments": len(segments),
        "prose_segments": n_prose,
        "nonprose_segments": n_nonprose,
        "nonprose_recall": _ratio(n_nonprose - len(nonprose_sent), n_nonprose),
        "prose_sent_rate": _ratio(prose_sent, n_prose),
        "prose_precision": _ratio(prose_sent, prose_sent + len(nonprose_sent)),
        "prose_fully_sent_rate": _ratio(n_prose - len(prose_lines_kept), n_prose),
        "per_class": dict(sorted(per_class.items())),
        "nonprose_sent_ids": nonprose_sent,
        "prose_kept_ids": prose_kept,
        "prose_lines_kept": prose_lines_kept,
    }


_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")


def fenced_only(text: str) -> list[Piece]:
    """A naive baseline: fenced blocks kept verbatim, every other non-blank line sent whole.

    How a one-off script translates line by line, knowing only about code fences (no indented code, no
    code lines, no inline code, URLs or math kept out of MT).
    """
    pieces: list[Piece] = []
    fence = ""
    lines = text.split("\n")
    for n, line in enumerate(lines):
        newline = "\n" if n < len(lines) - 1 else ""
        opened = _FENCE.match(line)
        if fence or opened:
            if fence and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
            elif not fence and opened:
                mark = opened.group(1)
                rest = line.strip()[len(mark) :]
                fence = "" if rest.endswith(mark[0] * 3) else mark  # ```one line``` opens and closes
            pieces.append(Piece(line + newline, False, kind="code_block"))
        elif line.strip():
            lead = line[: len(line) - len(line.lstrip())]
            body = line.strip()
            trail = line[len(lead) + len(body) :]
            pieces += [Piece(lead, False, kind="layout")] if lead else []
            pieces.append(Piece(body, True, kind="prose"))
            pieces.append(Piece(trail + newline, False, kind="layout"))
        else:
            pieces.append(Piece(line + newline, False, kind="layout"))
    return [piece for piece in pieces if piece.text]
