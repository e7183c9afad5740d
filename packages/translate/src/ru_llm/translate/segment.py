"""Format-preserving segmentation: split a message into prose to translate and layout to keep verbatim.

The paper translated paragraph by paragraph, splitting on newlines, so that formatting survives MT. Here
every line is split into its layout (indentation, list marker, numbering, heading marker, trailing
whitespace and newline), kept verbatim, and its prose, translated with inline code, URLs and e-mails
replaced by placeholders (``protect.py``). Code blocks as CommonMark defines them (fenced with ``` or
~~~, indented by four spaces after a blank line; ``markdown_blocks.py``), lines of code, commands, stack
traces, SQL, JSON/YAML/XML and math (``nonprose.py``), tables, game boards and ASCII art are kept verbatim
whole. ``"".join(piece.source for piece in pieces)`` is always the original text, whatever its line ends
(``\n``, ``\r\n``, ``\r``), tabs or fences.
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
from ru_llm.translate.markdown_blocks import code_block_lines, split_lines
from ru_llm.translate.nonprose import indented_prose, line_reason, mark_regions
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
    kind: what the piece is: "prose", or for verbatim pieces "layout", "code_block", "code", "table",
        "board", "art", "no_letters".
    reason: why, finer (what ``--explain`` shows): "prose"; for "code_block" "fenced_code",
        "indented_code", "html_block"; for "code" "code", "shell", "stack_trace", "sql", "json", "yaml",
        "xml", "latex"; for "layout" "blank" (blank lines) or "layout" (indentation, markers, line ends);
        for "no_letters" "url" or "no_letters"; otherwise the kind.
    """

    text: str
    translate: bool
    spans: tuple[str, ...] = ()
    kind: str = ""
    reason: str = ""

    @property
    def source(self) -> str:
        """The original text of the piece, placeholders restored."""
        return restore_spans(self.text, self.spans) if self.translate else self.text

    @property
    def action(self) -> str:
        """What the engine does with it: "sent" to MT, "protected" (sent, with spans kept out), "kept"."""
        if not self.translate:
            return "kept"
        return "protected" if self.spans else "sent"


def _default_too_long(text: str) -> bool:
    return len(text) > 1000


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
_CODE_BY_CODE = re.compile(
    r"""^\s*(?:(?:return|yield|raise|throw|print|puts|echo|await)\s+[\w.'"]+[\w.()'"\[\]]*;?|end|fi|done|esac|pass|break|continue"""
    r"""|"(?:[^"\\]|\\.)*"[,;]?|'(?:[^'\\]|\\.)*'[,;]?)\s*$"""
)
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


def _code_regions(lines: list[str], kinds: list[str], reasons: list[str]) -> None:
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
        # "return current" after code lines, the last "string" of an array: code only because of where they are
        code_by_code = (prev_code or next_code) and _CODE_BY_CODE.match(lines[i]) is not None
        if comment_by_code or body_of_code or code_by_code:
            kinds[i] = reasons[i] = "code"


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
        before = text[max(start, match.start(1) - 100) : match.start(1)].split()  # the last word is enough
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

    def keep(chunk: str, kind: str, reason: str) -> None:
        if not chunk:
            return
        last = pieces[-1] if pieces else None
        same = last is not None and not last.translate and last.kind == kind
        if last is not None and same and (kind == "layout" or last.reason == reason):
            merged = "blank" if "blank" in (last.reason, reason) else reason  # spacing merges whatever its reason
            pieces[-1] = Piece(last.text + chunk, False, kind=kind, reason=merged)
        else:
            pieces.append(Piece(chunk, False, kind=kind, reason=reason))

    lines = split_lines(text)
    plain = [line for line, _ in lines]
    blocks = _code_blocks(text, plain)
    kinds: list[str] = []
    reasons: list[str] = []
    parsed: list[tuple[str, str, str]] = []  # prefix, prose, trailing (line end included)
    for n, (line, line_end) in enumerate(lines):
        body = line.rstrip()
        prefix = _PREFIX.match(body).group(0)  # type: ignore[union-attr]  (the pattern matches "" at least)
        rest = body[len(prefix) :]
        lead = len(rest) - len(rest.lstrip())
        prefix, rest = prefix + rest[:lead], rest[lead:]
        parsed.append((prefix, rest, line[len(body) :] + line_end))
        kind, reason = _classify(body, rest, blocks.get(n))
        kinds.append(kind)
        reasons.append(reason)
    _context(plain, blocks, kinds, reasons)
    _code_regions(plain, kinds, reasons)

    for (line, line_end), kind, reason, (prefix, rest, trailing) in zip(lines, kinds, reasons, parsed, strict=True):
        if kind != "prose":
            keep(line + line_end, kind, reason)
            continue
        keep(prefix, "layout", "layout")
        protected, spans = protect_spans(rest)
        parts = _split_long(protected, too_long) if too_long(protected) else [protected]
        for k, part in enumerate(parts):
            if k % 2:
                keep(part, "layout", "layout")
                continue
            part_text, part_spans = renumber(part, spans)
            if not has_words(strip_placeholders(part_text)):
                keep(restore_spans(part_text, part_spans), "no_letters", "no_letters")
            else:
                pieces.append(Piece(part_text, True, part_spans, kind="prose", reason="prose"))
        keep(trailing, "layout", "layout")
    return pieces


def _code_blocks(text: str, lines: list[str]) -> dict[int, str]:
    """CommonMark's code blocks, less the indented blocks that are plainly prose (see ``indented_prose``)."""
    blocks = code_block_lines(text)
    n = 0
    while n < len(lines):
        if blocks.get(n) != "indented_code":
            n += 1
            continue
        end = n
        while blocks.get(end) == "indented_code":
            end += 1
        if indented_prose(lines[n:end]):
            for k in range(n, end):
                del blocks[k]
        n = end
    return blocks


_URL_START = re.compile(r"(?:https?://|ftp://|www\.)")


def _classify(body: str, rest: str, block: str | None) -> tuple[str, str]:
    """(kind, reason) of one line on its own."""
    if block:
        return "code_block", block
    if not body:
        return "layout", "blank"
    if not rest:
        return "no_letters", "no_letters"
    reason = line_reason(rest)
    if reason:
        return "code", reason
    kind = _line_kind(rest, protect_spans(rest)[0])
    if kind == "no_letters" and _URL_START.search(rest):
        return kind, "url"
    return kind, kind


def _context(lines: list[str], blocks: dict[int, str], kinds: list[str], reasons: list[str]) -> None:
    """Non-prose that needs its neighbours (tracebacks, display math, SQL clauses, YAML), between code blocks."""
    n = 0
    while n < len(lines):
        if n in blocks:
            n += 1
            continue
        end = n
        while end < len(lines) and end not in blocks:
            end += 1
        found: list[str | None] = [None if kinds[k] == "prose" else reasons[k] for k in range(n, end)]
        mark_regions(lines[n:end], found)
        for k, reason in zip(range(n, end), found, strict=True):
            if reason is not None and reason != reasons[k] and kinds[k] != "layout":
                kinds[k], reasons[k] = "code", reason
        n = end


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
