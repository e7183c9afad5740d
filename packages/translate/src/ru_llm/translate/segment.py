"""Format-preserving segmentation: split a message into prose to translate and layout to keep verbatim.

The paper translated paragraph by paragraph, splitting on newlines, so that formatting survives MT. Here
every line is split into its layout (indentation, list marker, numbering, heading marker, trailing
whitespace and newline), kept verbatim, and its prose, translated with inline code, URLs and e-mails
replaced by placeholders (``protect.py``). Fenced and indented code blocks, code lines, tables, game
boards and ASCII art are kept verbatim whole. ``"".join(piece.source for piece in pieces)`` is always the
original text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ru_llm.translate.checks import (
    _code_line,
    has_words,
    looks_like_ascii_art,
    looks_like_board,
    looks_like_table,
)
from ru_llm.translate.protect import (
    placeholder_problems,
    protect_spans,
    renumber,
    restore_spans,
    strip_placeholders,
)

__all__ = [
    "Piece",
    "join_pieces",
    "placeholder_problems",
    "protect_spans",
    "restore_spans",
    "segment_text",
    "split_sentences",
]


@dataclass(frozen=True)
class Piece:
    """One piece of a message.

    text: for ``translate=True`` the prose to send to MT, protected spans replaced by ``[N]``
        placeholders; otherwise the original text, kept verbatim.
    spans: the protected spans, ``spans[N - 1]`` for ``[N]``.
    kind: why the piece is what it is: "prose", or for verbatim pieces "layout", "code_block", "code",
        "table", "board", "art", "no_letters".
    """

    text: str
    translate: bool
    spans: tuple[str, ...] = ()
    kind: str = ""

    @property
    def source(self) -> str:
        """The original text of the piece, placeholders restored."""
        return restore_spans(self.text, self.spans) if self.translate else self.text


def _default_too_long(text: str) -> bool:
    return len(text) > 1000


# --- blocks --------------------------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}(?=[^`]*$)|~{3,})")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_MIN_CODE_SHARE_OF_INDENTED_BLOCK = 0.3


def _fence_end(lines: list[str], start: int, fence: str) -> int:
    """Index of the closing fence line of the block opened at ``start`` (the last line when unclosed)."""
    close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*\r?$")
    for j in range(start + 1, len(lines)):
        if close.match(lines[j]):
            return j
    return len(lines) - 1


def _code_blocks(lines: list[str]) -> list[bool]:
    """Which lines belong to a fenced code block, or to an indented block that is mostly code."""
    in_block = [False] * len(lines)
    i = 0
    while i < len(lines):
        fence = _FENCE_OPEN.match(lines[i])
        if fence:
            end = _fence_end(lines, i, fence.group("fence"))
            for j in range(i, end + 1):
                in_block[j] = True
            i = end + 1
            continue
        if _INDENTED.match(lines[i]) and lines[i].strip() and (i == 0 or not lines[i - 1].strip()):
            end = last = i
            while end < len(lines) and (_INDENTED.match(lines[end]) or not lines[end].strip()):
                if lines[end].strip():
                    if _FENCE_OPEN.match(lines[end]):
                        break
                    last = end
                end += 1
            block = [line for line in lines[i : last + 1] if line.strip()]
            code = sum(1 for line in block if _code_line(line))
            if code >= _MIN_CODE_SHARE_OF_INDENTED_BLOCK * len(block):
                for j in range(i, last + 1):
                    in_block[j] = True
            i = last + 1
            continue
        i += 1
    return in_block


# --- lines ---------------------------------------------------------------------------------------

_PREFIX = re.compile(
    r"""^[ \t]*(?:
        (?:>[ \t]?)+
      | \#{1,6}(?:[ \t]+|$)
      | [-*+•◦▪‣–][ \t]+(?:\[[ xX]\][ \t]+)?
      | \(?(?:\d{1,3}(?:\.\d{1,3})+\.?|\d{1,3}[.)]|[A-Za-z][.)]|[IVXLC]{1,6}[.)]|[ivx]{1,4}[.)])[ \t]+
    )*""",
    re.VERBOSE,
)
_COMMENT = re.compile(r"^\s*(?:#|//|/\*|\*|--\s|<!--)")
_OPENS_BLOCK = (":", "{", "(", "[", ",", "\\", "=")


def _line_kind(rest: str, protected: str) -> str:
    """What a line (without its list marker) is: "prose" or the reason to keep it verbatim."""
    if looks_like_board(rest):
        return "board"
    if looks_like_table(rest):
        return "table"
    if _code_line(rest):
        return "code"
    bare = strip_placeholders(protected)
    if looks_like_ascii_art(bare):
        return "art"
    if not has_words(bare):
        return "no_letters"
    return "prose"


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def _code_regions(lines: list[str], kinds: list[str]) -> None:
    """Unfenced code: comments next to code lines, and lines indented under a code line that opens a block."""
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for pos, i in enumerate(nonblank):
        if kinds[i] != "prose":
            continue
        prev = nonblank[pos - 1] if pos else None
        nxt = nonblank[pos + 1] if pos + 1 < len(nonblank) else None
        prev_code = prev is not None and kinds[prev] == "code"
        next_code = nxt is not None and kinds[nxt] == "code"
        comment_by_code = _COMMENT.match(lines[i]) is not None and (prev_code or next_code)
        body_of_code = (
            prev is not None
            and prev_code
            and lines[prev].rstrip().endswith(_OPENS_BLOCK)
            and _indent(lines[i]) > _indent(lines[prev])
            and (next_code or _indent(lines[i]) > 0)
        )
        if comment_by_code or body_of_code:
            kinds[i] = "code"


# --- sentences -----------------------------------------------------------------------------------

_BOUNDARY = re.compile(r"[.!?…]+[\"'”’»)\]]*(\s+)(?=[\"'“‘«(\[]*[A-Z0-9À-ÖØ-Þ\[])")
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
        "u.s",
        "u.k",
        "u.n",
        "no",
        "nos",
        "fig",
        "figs",
        "approx",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "est",
        "vol",
        "pp",
        "cf",
        "al",
        "ed",
        "eds",
        "rev",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "gov",
        "sen",
        "rep",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mt",
        "ft",
        "in",
        "lb",
        "lbs",
        "oz",
        "min",
        "max",
        "op",
        "ch",
        "sec",
    ]
)
_CLAUSE = re.compile(r"(?<=[,;:])(\s+)|(\s+)(?=[-–—]\s)")
_SPACE = re.compile(r"(\s+)")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences and the whitespace between them: ``[s1, ws1, s2, ws2, s3]``.

    A boundary is sentence punctuation, optional closing quotes, whitespace, then a capital, a digit or
    an opening quote/bracket; not after abbreviations ("Mr.", "e.g.") or initials ("J. K. Rowling").
    """
    parts: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        before = text[: match.start(1)].split()
        token = before[-1] if before else ""
        word = token.strip("\"'“‘«([").rstrip(".!?…\"'”’»)]")
        initial = len(word) == 1 and word.isupper()
        if token.rstrip("\"'”’»)]").endswith(".") and (word.casefold() in _ABBREVIATIONS or initial):
            continue
        parts += [text[start : match.start(1)], match.group(1)]
        start = match.end(1)
    parts.append(text[start:])
    return parts


def _pack(parts: list[str], too_long: Callable[[str], bool]) -> list[str]:
    """Greedily join ``[p0, sep0, p1, ...]`` into as few pieces as fit, keeping the separators between them."""
    out = [parts[0]]
    for k in range(1, len(parts), 2):
        sep, part = parts[k], parts[k + 1]
        if too_long(out[-1] + sep + part):
            out += [sep, part]
        else:
            out[-1] = out[-1] + sep + part
    return out


def _split_long(text: str, too_long: Callable[[str], bool]) -> list[str]:
    """Sentences; a sentence still too long goes by clauses, then by words."""
    out: list[str] = []
    sentences = split_sentences(text)
    for k, sentence in enumerate(sentences):
        if k % 2:
            out.append(sentence)
            continue
        chunks = [sentence]
        if too_long(sentence):
            clauses = [p for p in _CLAUSE.split(sentence) if p is not None]
            chunks = _pack(clauses, too_long)
            refined: list[str] = []
            for j, chunk in enumerate(chunks):
                refined += _pack(_SPACE.split(chunk), too_long) if j % 2 == 0 and too_long(chunk) else [chunk]
            chunks = refined
        out += chunks
    return out


# --- the API -------------------------------------------------------------------------------------


def segment_text(text: str, *, too_long: Callable[[str], bool] = _default_too_long) -> list[Piece]:
    """Split a message into pieces; ``"".join(p.source for p in pieces) == text``.

    Translatable pieces are prose lines without their indentation, list marker, numbering, heading marker
    and trailing whitespace (separate verbatim pieces), never empty or whitespace-only, and contain at
    least one word of two letters or more (not "3x - 4y = 1"). A prose line for which
    ``too_long(text_with_placeholders)`` is true is split into sentences (clauses, then words, if a
    sentence is still too long), each its own piece with the whitespace between them verbatim.
    """
    pieces: list[Piece] = []

    def keep(chunk: str, kind: str) -> None:
        if not chunk:
            return
        if pieces and not pieces[-1].translate and pieces[-1].kind == kind:
            pieces[-1] = Piece(pieces[-1].text + chunk, False, kind=kind)
        else:
            pieces.append(Piece(chunk, False, kind=kind))

    lines = text.split("\n")
    in_block = _code_blocks(lines)
    kinds: list[str] = []
    parsed: list[tuple[str, str, str, str]] = []  # prefix, prose, protected, trailing
    for line, block in zip(lines, in_block, strict=True):
        body = line.rstrip()
        trailing = line[len(body) :]
        prefix = _PREFIX.match(body).group(0)  # type: ignore[union-attr]  (the pattern matches "" at least)
        rest = body[len(prefix) :]
        lead = len(rest) - len(rest.lstrip())
        prefix, rest = prefix + rest[:lead], rest[lead:]
        protected = protect_spans(rest)[0] if rest and not block else ""
        parsed.append((prefix, rest, protected, trailing))
        if block:
            kinds.append("code_block")
        elif not body:
            kinds.append("layout")
        else:
            kinds.append(_line_kind(rest, protected) if rest else "no_letters")
    _code_regions(lines, kinds)

    for n, (line, kind, (prefix, rest, _, trailing)) in enumerate(zip(lines, kinds, parsed, strict=True)):
        newline = "\n" if n < len(lines) - 1 else ""
        if kind != "prose":
            keep(line + newline, "layout" if kind == "layout" else kind)
            continue
        keep(prefix, "layout")
        protected, spans = protect_spans(rest)
        parts = _split_long(protected, too_long) if too_long(protected) else [protected]
        for k, part in enumerate(parts):
            if k % 2:
                keep(part, "layout")
                continue
            part_text, part_spans = renumber(part, spans)
            if not has_words(strip_placeholders(part_text)):
                keep(restore_spans(part_text, part_spans), "no_letters")
            else:
                pieces.append(Piece(part_text, True, part_spans, kind="prose"))
        keep(trailing + newline, "layout")
    return pieces


def join_pieces(pieces: Sequence[Piece], translations: Mapping[int, str]) -> str:
    """Rebuild the message: verbatim pieces as they are, translatable piece ``i`` replaced by
    ``translations[i]`` (surrounding whitespace stripped) with its placeholders restored."""
    out: list[str] = []
    for i, piece in enumerate(pieces):
        if not piece.translate:
            out.append(piece.text)
            continue
        if i not in translations:
            raise KeyError(f"no translation for piece {i} ({piece.text[:60]!r}); every translatable piece needs one")
        out.append(restore_spans(translations[i].strip(), piece.spans))
    return "".join(out)
