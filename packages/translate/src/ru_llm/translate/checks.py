"""Failure detection: why a translated segment looks broken, and what a line is that must not be translated.

The paper dropped by hand the dialogues whose translation broke: program code, ASCII art, game boards,
and outputs that repeated a phrase or a character forever. ``segment_flags`` names those failures with
stable strings; the ``looks_like_*`` detectors let the segmenter keep such lines out of MT altogether.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.core.options import config_from_mapping
from ru_llm.translate.protect import placeholder_problems, strip_placeholders

FLAGS = ("repetition", "length_ratio", "low_cyrillic", "untranslated", "protected_span", "truncated")
"""Every flag ``segment_flags`` can return, in the order it returns them."""


@dataclass(frozen=True)
class CheckConfig:
    """Thresholds of the segment checks. Defaults pass real human En→Ru translations (rulm seed tasks).

    Lengths are in characters of the text without placeholders; shares are fractions in [0, 1].
    """

    ngram_size: int = 3
    """Word n-gram size for the repeated n-gram share."""
    max_repeated_ngram_share: float = 0.4
    """Flag "repetition" when more than this share of the word n-grams are repeats of earlier ones..."""
    repetition_margin: float = 0.2
    """...and that share exceeds the source's by more than this (a repetitive source may repeat)."""
    min_words_for_ngrams: int = 12
    """Shorter translations are not measured for n-gram repetition."""
    max_char_run: int = 16
    """Flag "repetition" when one character repeats more than this many times in a row (and more than in the source)."""
    max_compression_ratio: float = 4.0
    """Flag "repetition" when UTF-8 bytes / zlib-compressed bytes exceeds this (and the source's, times 1.5)."""
    min_chars_for_compression: int = 200
    """Shorter translations are not measured for compression ratio (zlib's overhead dominates)."""
    min_length_ratio: float = 0.35
    """Flag "length_ratio" when len(translation) / len(source) is below this..."""
    max_length_ratio: float = 3.0
    """...or above this."""
    min_chars_for_length_ratio: int = 25
    """Sources shorter than this are not measured for length ratio ("OK" -> "Хорошо")."""
    min_cyrillic_share: float = 0.5
    """Flag "low_cyrillic" when Cyrillic letters are less than this share of the translation's letters."""
    min_letters_for_cyrillic: int = 20
    """Sources and translations with fewer letters (numbers, names, short terms) are not measured for script."""
    max_unit_repeats: int = 8
    """Flag "repetition" when a 2-10 character unit repeats back to back more than this ("хахахаха...")."""
    min_words_for_untranslated: int = 4
    """Flag "untranslated" for a copy of the source only when the source has at least this many words."""

    def __post_init__(self) -> None:
        for name in ("max_repeated_ngram_share", "repetition_margin", "min_cyrillic_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name!r} must be within [0, 1], got {value!r}")
        if self.ngram_size < 1:
            raise ConfigError(f"'ngram_size' must be at least 1, got {self.ngram_size!r}")
        if not 0.0 < self.min_length_ratio < self.max_length_ratio:
            raise ConfigError(
                "'min_length_ratio' and 'max_length_ratio' must satisfy 0 < min_length_ratio < max_length_ratio, "
                f"got {self.min_length_ratio!r} and {self.max_length_ratio!r}"
            )

    def to_dict(self) -> dict:
        """The thresholds as plain JSON-ready values, for reports."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], where: str = "checks") -> CheckConfig:
        """Build from a mapping (a YAML section, ``--check`` pairs): a :class:`ConfigError` names ``where``,
        the key, and the allowed keys or the expected type."""
        return config_from_mapping(cls, values, where=where)


# --- text measures ---------------------------------------------------------------------------------

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_LETTER_WORD_RE = re.compile(r"[^\W\d_]{2,}")
"""A word for "untranslated": two letters or more in a row (not "3x", "4y")."""


def letters(text: str) -> int:
    """How many letters ``text`` has."""
    return sum(1 for ch in text if ch.isalpha())


def has_words(text: str) -> bool:
    """True when ``text`` has a word of two letters or more: something to translate, unlike "3x - 4y = 1"."""
    return _LETTER_WORD_RE.search(text) is not None


_TERM_RE = re.compile(r"\b[A-Za-z]*[A-Z][A-Za-z]*\b")


def cyrillic_share(text: str) -> float:
    """Share of Cyrillic letters among the letters of ``text`` (1.0 for a text without letters).

    Latin words with a capital (names and terms: Python, NumPy, Google) are left out: a correct
    translation keeps them, while an untranslated sentence is mostly lower-case words.
    """
    total = cyr = 0
    for ch in _TERM_RE.sub(" ", text):
        if ch.isalpha():
            total += 1
            if "\u0400" <= ch <= "\u04ff" or "\u0500" <= ch <= "\u052f":
                cyr += 1
    return cyr / total if total else 1.0


def latin_letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha() and ch.isascii())


def repeated_ngram_share(text: str, n: int = 3) -> float:
    """Share of word n-grams that repeat an earlier one (0.0 for fewer than n words)."""
    words = [w.casefold() for w in _WORD_RE.findall(text)]
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    return (len(grams) - len(set(grams))) / len(grams)


def longest_char_run(text: str) -> int:
    """Length of the longest run of one non-space character."""
    best = run = 0
    prev = ""
    for ch in text:
        run = run + 1 if ch == prev else 1
        prev = ch
        if not ch.isspace() and run > best:
            best = run
    return best


def compression_ratio(text: str) -> float:
    """UTF-8 bytes over zlib-compressed bytes: high for text that repeats itself."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data, 9)) if data else 0.0


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


# --- segment checks --------------------------------------------------------------------------------


def _repetition(source: str, translation: str, config: CheckConfig) -> bool:
    if len(_WORD_RE.findall(translation)) >= config.min_words_for_ngrams:
        share = repeated_ngram_share(translation, config.ngram_size)
        if share > config.max_repeated_ngram_share and share > (
            repeated_ngram_share(source, config.ngram_size) + config.repetition_margin
        ):
            return True
    run = longest_char_run(translation)
    if run > config.max_char_run and run > longest_char_run(source):
        return True
    unit = re.compile(rf"(.{{2,10}}?)\1{{{config.max_unit_repeats},}}", re.DOTALL)
    if unit.search(translation) and not unit.search(source):
        return True
    if len(translation) >= config.min_chars_for_compression:
        ratio = compression_ratio(translation)
        if ratio > config.max_compression_ratio and ratio > 1.5 * compression_ratio(source):
            return True
    return False


def segment_flags(
    source: str,
    translation: str,
    *,
    hit_cap: bool = False,
    spans: Sequence[str] = (),
    config: CheckConfig = CheckConfig(),
) -> list[str]:
    """Machine-readable reasons a translated segment looks broken, [] if it looks fine.

    source, translation: the text sent to MT and the text it returned, placeholders included
        (a translation with its spans already restored is accepted too).
    hit_cap: generation stopped at the token cap.
    spans: the protected spans of the segment (``Piece.spans``).
    Returns flags from ``FLAGS``, in that order.
    """
    flags: set[str] = set()
    src = strip_placeholders(source)
    out = strip_placeholders(translation)
    if spans:
        for span in spans:  # a restored translation: measure it without the spans, as the source
            out = out.replace(span, " ")
    src_letters = letters(src)

    if _repetition(src, out, config):
        flags.add("repetition")
    src_len, out_len = len(src.strip()), len(out.strip())
    if src_len >= config.min_chars_for_length_ratio:
        ratio = out_len / src_len
        if not config.min_length_ratio <= ratio <= config.max_length_ratio:
            flags.add("length_ratio")
    if (
        min(src_letters, letters(_TERM_RE.sub(" ", out))) >= config.min_letters_for_cyrillic
        and cyrillic_share(src) < config.min_cyrillic_share  # a source already in Russian may stay so
        and cyrillic_share(out) < config.min_cyrillic_share
    ):
        flags.add("low_cyrillic")
    if (
        _norm(src) == _norm(out)
        and latin_letters(src) > 0
        and len(_LETTER_WORD_RE.findall(src)) >= config.min_words_for_untranslated
    ):
        flags.add("untranslated")
    if spans and placeholder_problems(translation, spans):
        flags.add("protected_span")
    elif not spans and placeholder_problems(translation, []) and not placeholder_problems(source, []):
        flags.add("protected_span")  # MT invented a placeholder the source never had
    if hit_cap:
        flags.add("truncated")
    return [flag for flag in FLAGS if flag in flags]


def merge_flags(flag_lists: Iterable[Sequence[str]]) -> list[str]:
    """The flags of a record: every flag of its segments once, in ``FLAGS`` order."""
    seen = {flag for flags in flag_lists for flag in flags}
    return [flag for flag in FLAGS if flag in seen] + sorted(seen - set(FLAGS))


# --- detectors of text that must not be translated --------------------------------------------------

_CODE_STRONG = re.compile(
    r"""^\s*(?:
        (?:async\s+)?def\s+\w+\s*[(\[{].*
      | class\s+\w+\s*(?:\(.*\))?\s*[:{]\s*$
      | class\s+\w+(?:\s+(?:extends|implements)\s+[\w.<>]+)*\s*\{?\s*$
      | import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*\s*;?\s*$
      | import\s+.*\s+from\s+['"].*['"];?\s*$
      | import\s+['"].*['"];?\s*$
      | from\s+[\w.]+\s+import\s+[\w*(,\s]+\)?\s*$
      | (?:const|let|var)\s+[\w{}\[\],\s]+\s*:?=.*
      | (?:public|private|protected|static|final|abstract)\s+[\w<>\[\],\s]+[({;=].*
      | (?:void|int|float|double|char|bool|boolean|long|short|unsigned|auto|String|string)\s+\**\w+\s*[(=;\[].*
      | \#\s*(?:include|define|ifdef|ifndef|endif|pragma|import)\b.*
      | (?:function|func|fn)\s+\w+\s*[(<].*
      | (?:if|for|while|switch|catch|elif|else\s+if)\s*\(.*\)\s*\{?\s*$
      | (?:if|elif|while)\s+[^:]*(?:==|!=|[<>]|\w\.\w|\w\()[^:]*:\s*$
      | for\s+[\w,\s()]+\s+in\s+.+:\s*$
      | (?:else|try|finally|except(?:\s+[\w.,\s()]+)?(?:\s+as\s+\w+)?)\s*[:{]\s*$
      | (?:return|yield|raise|throw)\s+[^.!?]*[;()\[\]]\s*;?\s*$
      | (?:return|break|continue|pass)\s*;?\s*$
      | (?:package|namespace|using)\s+[\w.:]+\s*[;{]?\s*$
      | use\s+[\w:{},\s*]+;\s*$
      | (?:SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|CREATE\s+(?:TABLE|INDEX|VIEW|DATABASE)
         |ALTER\s+TABLE|DROP\s+TABLE)\b.*
      | (?:\$|>>>|In\s*\[\d*\]:)\s+\S.*
      | @\w+(?:\(.*\))?\s*$
      | (?://|/\*|\*/|<!--|-->).*
      | <\??/?[A-Za-z][\w:-]*(?:\s+[\w:-]+(?:=(?:"[^"]*"|'[^']*'|\S+))?)*\s*/?\??>.*
      | \}.*
    )""",
    re.VERBOSE,
)
_CODE_CALL = re.compile(r"^\s*[A-Za-z_$][\w$]*(?:(?:\.|->|::)[A-Za-z_$][\w$]*)*\(.*\)\s*[;,]?\s*$")
_CODE_OPENER = re.compile(r"(?:[;{]|\};|\);|[\w\])]\s*[\[(])\s*$")
_CODE_ASSIGN = re.compile(
    r"^\s*[A-Za-z_$][\w$]*(?:(?:\.|->)[A-Za-z_$][\w$]*|\[[^\]]*\])*\s*(?:=|\+=|-=|\*=|/=|:=|\|\|=|\?\?=)\s*[^=\s].*$"
)
_CODE_KEY_VALUE = re.compile(r"""^\s*(?:"[^"]*"|'[^']*')\s*:\s*.+?,?\s*$""")
_CODE_TOKENS = re.compile(
    r"==|!=|<=|>=|&&|\|\||->|=>|::|<<|>>|\+\+|--(?=\w)|\+=|-=|\w\.\w+\(|\w\(\)|[{};]\s*$|^\s*[\])}]"
)
_PROSE_WORD = re.compile(r"(?<![\w.])[A-Za-z][a-z]+(?:'[a-z]+)?(?![\w(]|\.\w)")
_SHELL_COMMANDS = frozenset(
    [
        "sudo",
        "pip",
        "pip3",
        "npm",
        "npx",
        "yarn",
        "apt",
        "apt-get",
        "git",
        "cd",
        "mkdir",
        "cargo",
        "docker",
        "kubectl",
        "curl",
        "wget",
        "conda",
        "brew",
        "chmod",
        "chown",
        "python",
        "python3",
        "node",
        "gcc",
        "g++",
        "cmake",
        "rustc",
        "javac",
        "dotnet",
        "ffmpeg",
    ]
)
_NOT_AN_ARGUMENT = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "can",
        "could",
        "will",
        "would",
        "and",
        "or",
        "the",
        "a",
        "an",
        "has",
        "have",
        "had",
        "to",
        "of",
        "in",
        "on",
    ]
)


def _shell_line(stripped: str) -> bool:
    words = stripped.split()
    return (
        len(words) >= 2
        and words[0] in _SHELL_COMMANDS
        and words[1] not in _NOT_AN_ARGUMENT
        and not stripped.endswith((".", "!", "?"))
        and len(words) <= 12
    )


_TRAILING_COMMENT = re.compile(r"(?:\s+(?:#|//)\s.*|\s*/\*.*?\*/)\s*$")
_SENTENCE_INSIDE = re.compile(r"[.!?]\s+[A-Z]")


def _code_line(line: str) -> bool:
    stripped = _TRAILING_COMMENT.sub("", line.strip()) or line.strip()
    if not stripped:
        return False
    if _CODE_ASSIGN.match(stripped) and not _SENTENCE_INSIDE.search(stripped):
        return True
    if _CODE_STRONG.match(stripped) or _shell_line(stripped):
        return True
    prose_words = len(_PROSE_WORD.findall(stripped))
    tokens = len(_CODE_TOKENS.findall(stripped))
    if (_CODE_CALL.match(stripped) or _CODE_KEY_VALUE.match(stripped)) and (prose_words < 6 or tokens >= 1):
        return True
    if _CODE_OPENER.search(stripped) and (tokens >= 2 or prose_words < 4):
        return True
    return tokens >= 3 and tokens * 3 >= prose_words


def looks_like_code(text: str) -> bool:
    """True for a line of program code, or a block whose non-blank lines are at least half code."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return False
    code = sum(1 for line in lines if _code_line(line))
    return code * 2 >= len(lines)


_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)+\|?\s*$")


def looks_like_table(line: str) -> bool:
    """True for a row of a pipe table (``| a | b |``, ``a | b | c``) or its ``|---|---|`` separator."""
    stripped = line.strip()
    if _TABLE_SEPARATOR.match(stripped):
        return True
    return stripped.count("|") >= 2 or (stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1)


_FEN = re.compile(r"^[pnbrqkPNBRQK1-8]{1,8}(?:/[pnbrqkPNBRQK1-8]{1,8}){7}(?:\s.*)?$")
_BOX_DRAWING = re.compile(r"[\u2500-\u259f\u2654-\u265f\u25a0-\u25ff]")


def looks_like_board(line: str) -> bool:
    """True for a row of a game board: tic-tac-toe ``X | O | X``, ``---+---+---``, chess ``r n b q k b n r``."""
    stripped = line.strip()
    if not stripped:
        return False
    if re.fullmatch(r"[-+=|:.\s]*[+|][-+=|:.\s]*", stripped) and "-" in stripped:
        return True
    if re.fullmatch(r"\|?(?:\s*[XxOo#.\-_\d ]?\s*\|){2,}\s*[XxOo#.\-_\d ]?\s*\|?", stripped):
        return True
    if re.search(r"[\u2654-\u265f]", stripped):
        return True
    if _FEN.match(stripped):
        return True
    cells = stripped.replace("|", " ").split()
    singles = sum(1 for cell in cells if len(cell) == 1)
    return (len(cells) >= 3 and singles == len(cells)) or (len(cells) >= 4 and singles * 4 >= len(cells) * 3)


def looks_like_ascii_art(line: str) -> bool:
    """True for a line drawn with symbols (``/\\_/\\``, ``( o.o )``, box drawing) rather than written."""
    chars = [ch for ch in line if not ch.isspace()]
    if not chars:
        return False
    if _BOX_DRAWING.search(line):
        return True
    symbols = sum(1 for ch in chars if not ch.isalnum())
    return symbols >= 4 and symbols >= 0.6 * len(chars)
