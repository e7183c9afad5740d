"""Repair MT habits in Russian output.

WMT21 (and other SentencePiece MT models) often drop the space after sentence punctuation:
"сделать татуировку.Где это" instead of "сделать татуировку. Где это". A space is inserted only where the
next character starts a Russian word (a Cyrillic capital after ``.!?…``, any Cyrillic letter after
``,;:``) or a capitalised Latin word after a Russian one ("компании.Google"), and the text before is not
an initial ("А.С.Пушкин"). Numbers (3.14, 1,5), Latin abbreviations (e.g., i.e.), lower-case Russian
ones ("т.е.", "т.д."), file names, and URLs, e-mails and inline code (skipped) stay as they are.
"""

from __future__ import annotations

import re

_CYR_UPPER = "А-ЯЁ"
_CYR_ANY = "А-ЯЁа-яё"
_SKIP = re.compile(r"`[^`\n]*`|(?:https?://|ftp://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_AFTER_SENTENCE = re.compile(rf"(?P<before>\S)(?P<punct>[.!?…]+[\"'”»)]*)(?=[«\"„(]?[{_CYR_UPPER}])")
_AFTER_SENTENCE_LATIN = re.compile(r"(?P<before>[а-яё])(?P<punct>[.!?…]+)(?=[A-Z][a-z])")
_AFTER_CLAUSE = re.compile(rf"(?P<before>[{_CYR_ANY}»)\"])(?P<punct>[,;:])(?=[«\"„(]?[{_CYR_ANY}])")
_INITIAL = re.compile(rf"(?:^|[\s.(«\"])[{_CYR_UPPER}A-Z]$")


def _fix_sentences(text: str) -> str:
    def add_space(match: re.Match[str]) -> str:
        head = text[: match.start("punct")]
        if match.group("punct")[0] == "." and _INITIAL.search(head):
            return match.group(0)  # "А.С.Пушкин", "J.R.R.": initials, not sentence ends
        return match.group("before") + match.group("punct") + " "

    return _AFTER_SENTENCE.sub(add_space, text)


def _fix(text: str) -> str:
    text = _fix_sentences(text)
    text = _AFTER_SENTENCE_LATIN.sub(lambda m: m.group("before") + m.group("punct") + " ", text)
    return _AFTER_CLAUSE.sub(lambda m: m.group("before") + m.group("punct") + " ", text)


def repair_translation(text: str) -> str:
    """Restore the space MT dropped after sentence and clause punctuation before a Russian word."""
    out: list[str] = []
    pos = 0
    for match in _SKIP.finditer(text):
        out += [_fix(text[pos : match.start()]), match.group(0)]
        pos = match.end()
    out.append(_fix(text[pos:]))
    return "".join(out)
