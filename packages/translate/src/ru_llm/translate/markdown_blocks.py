"""Markdown block structure: which lines of a message are code blocks, decided by a CommonMark parser.

Regular expressions got CommonMark's code rules subtly wrong (a one-line indented block after a blank
line, indentation inside list items, fences of any length, ``~~~``), so block structure comes from
markdown-it-py: a CommonMark-compliant parser (it passes the spec's examples), pure Python, already
installed with rich, and its block tokens carry ``map``, the 0-based ``[first, end)`` line range, which
is all we need. Only the block phase runs; inline parsing is switched off.

Lines are numbered as markdown-it numbers them: the text split at ``\\r\\n``, ``\\r`` and ``\\n`` (its
``normalize`` rule turns each of them into one ``\\n``), see :func:`split_lines`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_LINE_END = re.compile(r"\r\n|\r|\n")
# HTML blocks whose whole content is markup, never prose (CommonMark's HTML block kinds 1-5): raw text
# elements, comments, processing instructions, declarations, CDATA. Kinds 6 and 7 (<div>, any tag alone on
# a line) may wrap prose lines, so those lines go through the line detectors like any other.
_RAW_HTML_BLOCK = re.compile(
    r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:<(?:script|pre|style|textarea)(?:[\s>]|$)|<!--|<\?|<![A-Za-z]|<!\[CDATA\[)", re.I
)


def split_lines(text: str) -> list[tuple[str, str]]:
    """``(line, line_end)`` pairs, numbered as CommonMark numbers lines; ``"".join`` of them is ``text``.

    The last pair has ``line_end == ""`` (an empty line when the text ends with a line end).
    """
    out: list[tuple[str, str]] = []
    pos = 0
    for match in _LINE_END.finditer(text):
        out.append((text[pos : match.start()], match.group(0)))
        pos = match.end()
    out.append((text[pos:], ""))
    return out


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    # "commonmark": the spec and nothing else (no tables, no linkify). Inline rules only cost time here.
    return MarkdownIt("commonmark").disable(["inline", "text_join"])


def code_block_lines(text: str) -> dict[int, str]:
    """Line number -> "fenced_code", "indented_code" or "html_block" for every line inside such a block.

    A fence runs to its closing fence or, unclosed, to the end of its container (the end of the text at
    top level), as CommonMark says. Indented code inside a list item's continuation is not code: the
    parser knows the list item's content column.
    """
    kinds = {"fence": "fenced_code", "code_block": "indented_code", "html_block": "html_block"}
    lines = split_lines(text)
    out: dict[int, str] = {}
    for token in _parser().parse(text):
        kind = kinds.get(token.type)
        if kind is None or token.map is None:
            continue
        first, end = token.map
        if kind == "html_block" and not _RAW_HTML_BLOCK.match(lines[first][0]):
            continue
        for n in range(first, min(end, len(lines))):
            out[n] = kind
    return out
