"""Segmentation and protection: real messages rebuild exactly; layout and non-prose pass through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ru_llm.translate.protect import placeholder_problems, protect_spans, restore_spans
from ru_llm.translate.segment import Piece, join_pieces, segment_text, split_sentences

DATA = Path(__file__).resolve().parent.parent / "data"


def _self_instruct_texts() -> list[str]:
    texts = []
    for line in (DATA / "instructions/en/self_instruct_seed_tasks.jsonl").read_text(encoding="utf-8").splitlines():
        task = json.loads(line)
        texts.append(task["instruction"])
        for instance in task["instances"]:
            texts += [instance["input"], instance["output"]]
    return texts


OASST = [
    json.loads(line)["text"]
    for line in (DATA / "translate/oasst_en_messages.jsonl").read_text(encoding="utf-8").splitlines()
]
MESSAGES = OASST + _self_instruct_texts()


def identity(pieces: list[Piece]) -> dict[int, str]:
    return {i: piece.text for i, piece in enumerate(pieces) if piece.translate}


def prose(text: str, **kwargs) -> list[str]:
    return [piece.text for piece in segment_text(text, **kwargs) if piece.translate]


def verbatim(text: str) -> list[Piece]:
    return [piece for piece in segment_text(text) if not piece.translate]


# --- the round-trip property on real data ---------------------------------------------------------


@pytest.mark.parametrize("limit", [1000, 60], ids=["default", "sentence-split"])
def test_identity_translation_rebuilds_every_real_message(limit: int) -> None:
    assert len(MESSAGES) > 600
    for text in MESSAGES:
        pieces = segment_text(text, too_long=lambda s, limit=limit: len(s) > limit)
        assert join_pieces(pieces, identity(pieces)) == text
        assert "".join(piece.source for piece in pieces) == text
        for piece in pieces:
            if piece.translate:
                assert piece.text.strip() == piece.text != ""
                assert "\n" not in piece.text
                assert placeholder_problems(piece.text, piece.spans) == []


def test_real_messages_protect_their_code_blocks_and_urls() -> None:
    kinds: set[str] = set()
    for text in OASST:
        pieces = segment_text(text)
        kinds |= {piece.kind for piece in pieces}
        sent = " ".join(piece.text for piece in pieces if piece.translate)
        assert "```" not in sent
        assert "https://" not in sent
    assert {"prose", "layout", "code_block", "code", "table"} <= kinds


def test_marked_translation_lands_only_in_prose() -> None:
    text = "# Setup\n\n1. Install it:\n\n```bash\npip install foo\n```\n\n- See `foo --help` or https://x.org.\n"
    pieces = segment_text(text)
    out = join_pieces(pieces, {i: f"<{p.text}>" for i, p in enumerate(pieces) if p.translate})
    assert (
        out
        == "# <Setup>\n\n1. <Install it:>\n\n```bash\npip install foo\n```\n\n- <See `foo --help` or https://x.org.>\n"
    )


# --- protected constructs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "block",
    [
        "```python\ndef f(x):\n    return x  # Return it.\n```",
        "~~~js\nconsole.log('Hello, world.');\n~~~",
        "````\n```\nnested fence\n```\n````",
        "```\nText that is prose but inside a fence.\n```",
    ],
)
def test_fenced_code_blocks_pass_through(block: str) -> None:
    text = f"Here is the code:\n\n{block}\n\nThat is all."
    assert prose(text) == ["Here is the code:", "That is all."]
    assert any(p.kind == "code_block" and p.text.startswith(block.split("\n")[0]) for p in verbatim(text))


def test_unclosed_fence_runs_to_the_end() -> None:
    assert prose("Try this:\n```\nprint('hi')\nAnd more text.") == ["Try this:"]


def test_indented_code_block_after_blank_line_passes_through() -> None:
    text = "Example:\n\n    for i in range(3):\n        print(i)\n    # Prints numbers.\n\nDone here."
    assert prose(text) == ["Example:", "Done here."]


def test_indented_prose_is_still_translated() -> None:
    text = "Consider:\n\n    Screen size: pick one for your room.\n\n    Resolution: at least Full HD."
    assert prose(text) == ["Consider:", "Screen size: pick one for your room.", "Resolution: at least Full HD."]
    assert join_pieces(segment_text(text), identity(segment_text(text))) == text


def test_unfenced_code_lines_and_their_comments_pass_through() -> None:
    text = (
        "Sure, here is the code:\n\nimport requests\n\n# Make the request\n"
        'response = requests.post("https://api.example.com", json=params)\n'
        "if response.status_code == 200:\n    print(response.json())\nelse:\n    print('Error')\n\n"
        "This prints the answer."
    )
    assert prose(text) == ["Sure, here is the code:", "This prints the answer."]


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("Run `pip install ru-llm` first.", ("`pip install ru-llm`",)),
        ("Use ``a ` b`` here.", ("``a ` b``",)),
        ("See https://en.wikipedia.org/wiki/Mercury_(planet).", ("https://en.wikipedia.org/wiki/Mercury_(planet)",)),
        ("Read [the docs](https://docs.python.org/3/) now.", ("https://docs.python.org/3/",)),
        ("Visit www.example.com, then rest.", ("www.example.com",)),
        ("Mail john.doe+ml@example.co.uk today.", ("john.doe+ml@example.co.uk",)),
        ("As shown in [1] and [ 2 ], it works.", ("[1]", "[ 2 ]")),
    ],
)
def test_inline_spans_become_placeholders(text: str, spans: tuple[str, ...]) -> None:
    (piece,) = [p for p in segment_text(text) if p.translate]
    assert piece.spans == spans
    for span in spans:
        assert span not in piece.text or span == "[1]"  # an existing citation is its own placeholder
    assert restore_spans(piece.text, piece.spans) == text
    assert protect_spans(text) == (piece.text, spans)


def test_placeholders_restore_from_a_reordered_translation() -> None:
    pieces = segment_text("Use `ls` to list and `cd` to move.")
    (i,) = [i for i, p in enumerate(pieces) if p.translate]
    assert pieces[i].text == "Use [1] to list and [2] to move."
    assert join_pieces(pieces, {i: "Чтобы перейти, [2]; чтобы вывести список, [ 1 ]."}) == (
        "Чтобы перейти, `cd`; чтобы вывести список, `ls`."
    )


@pytest.mark.parametrize(
    "line",
    [
        "| Name | Age |",
        "|------|-----|",
        "| :--- | ---: |",
        "Column A | Column B | Column C",
        " X | O | X ",
        "---+---+---",
        "-----------",
        "r n b q k b n r",
        "8 | ♜ ♞ ♝ ♛ ♚ ♝ ♞ ♜",
        "rnbqkbnr/pp1ppppp/8/2p5/4P3/5N2/PPPP1PPP/RNBQKB1R b KQkq - 1 2",
        "/\\_/\\",
        "( o.o )",
        " > ^ <",
        "╔══════╗",
        "https://example.com/only-a-link",
        "`just_code()`",
        "3x - 4y = 1, 2x + 3y = 12",
        "42",
    ],
)
def test_non_prose_lines_are_kept_verbatim(line: str) -> None:
    text = f"Look:\n{line}\nNice."
    assert prose(text) == ["Look:", "Nice."]
    assert join_pieces(segment_text(text), identity(segment_text(text))) == text


def test_tic_tac_toe_board_passes_through() -> None:
    board = " X | O | X \n---+---+---\n O | X |   \n---+---+---\n   |   | O "
    text = f"Your move! The board is:\n\n{board}\n\nWhere do you play next?"
    assert prose(text) == ["Your move! The board is:", "Where do you play next?"]


# --- layout --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "layout", "content"),
    [
        ("- Buy milk", "- ", "Buy milk"),
        ("* Buy milk", "* ", "Buy milk"),
        ("+ Buy milk", "+ ", "Buy milk"),
        ("  - Nested item", "  - ", "Nested item"),
        ("1. First step", "1. ", "First step"),
        ("12) Twelfth step", "12) ", "Twelfth step"),
        ("a) An option", "a) ", "An option"),
        ("(b) Another option", "(b) ", "Another option"),
        ("IV. Fourth part", "IV. ", "Fourth part"),
        ("1.2. Subsection title", "1.2. ", "Subsection title"),
        ("## Heading two", "## ", "Heading two"),
        ("> Quoted words", "> ", "Quoted words"),
        ("- [x] Done task", "- [x] ", "Done task"),
        ("   Three-space indent", "   ", "Three-space indent"),  # four spaces or a tab: an indented code block
        ("• Bullet point", "• ", "Bullet point"),
    ],
)
def test_markers_and_indentation_are_layout(line: str, layout: str, content: str) -> None:
    pieces = segment_text(line + "  \n")
    assert [(p.text, p.translate) for p in pieces] == [(layout, False), (content, True), ("  \n", False)]


def test_blank_lines_and_crlf_are_kept() -> None:
    text = "First para.\r\n\r\n\r\nSecond para.\r\n"
    pieces = segment_text(text)
    assert [p.text for p in pieces if p.translate] == ["First para.", "Second para."]
    assert join_pieces(pieces, {i: "Абзац." for i, p in enumerate(pieces) if p.translate}) == (
        "Абзац.\r\n\r\n\r\nАбзац.\r\n"
    )


def test_hashtag_is_not_a_heading() -> None:
    assert prose("#blessed day") == ["#blessed day"]


@pytest.mark.parametrize("text", ["", "\n", "   \n\t\n", "- \n1.\n#\n", "***", "`x`"])
def test_nothing_to_translate_gives_no_translatable_piece(text: str) -> None:
    pieces = segment_text(text)
    assert not any(p.translate for p in pieces)
    assert join_pieces(pieces, {}) == text


def test_missing_translation_names_the_piece() -> None:
    with pytest.raises(KeyError, match="piece 0"):
        join_pieces(segment_text("Hello there."), {})


def test_translation_whitespace_is_stripped() -> None:
    pieces = segment_text("- Hello there.\n")
    assert join_pieces(pieces, {1: "  Привет. \n"}) == "- Привет.\n"


# --- long paragraphs ----------------------------------------------------------------------------


def test_long_paragraph_is_split_into_sentences() -> None:
    text = 'Dr. Smith arrived at 5 p.m. on Monday. He met J. K. Rowling! Did they talk?  "Yes," she said. The end.'
    pieces = segment_text(text, too_long=lambda s: len(s) > 40)
    assert [p.text for p in pieces if p.translate] == [
        "Dr. Smith arrived at 5 p.m. on Monday.",
        "He met J. K. Rowling!",
        "Did they talk?",
        '"Yes," she said.',
        "The end.",
    ]
    assert [p.text for p in pieces if not p.translate] == [" ", " ", "  ", " "]
    assert join_pieces(pieces, identity(pieces)) == text


def test_short_paragraph_is_not_split() -> None:
    text = "One sentence. Two sentences."
    assert prose(text) == [text]


def test_split_sentences_keeps_whitespace_between() -> None:
    assert split_sentences("A b. C d?  E.g. we met Mr. Smith. 3 cats.") == [
        "A b.",
        " ",
        "C d?",
        "  ",
        "E.g. we met Mr. Smith.",
        " ",
        "3 cats.",
    ]


def test_sentence_pieces_renumber_their_placeholders() -> None:
    text = "Install `foo` first. Then open https://x.org and run `bar`."
    pieces = segment_text(text, too_long=lambda s: len(s) > 30)
    translatable = [p for p in pieces if p.translate]
    assert [(p.text, p.spans) for p in translatable] == [
        ("Install [1] first.", ("`foo`",)),
        ("Then open [1] and run [2].", ("https://x.org", "`bar`")),
    ]
    assert join_pieces(pieces, identity(pieces)) == text


def test_overlong_sentence_falls_back_to_clauses_then_words() -> None:
    text = "alpha beta, gamma delta, epsilon zeta eta theta iota kappa lambda mu"
    pieces = segment_text(text, too_long=lambda s: len(s) > 20)
    translatable = [p.text for p in pieces if p.translate]
    assert all(len(t) <= 20 for t in translatable)
    assert translatable[:2] == ["alpha beta,", "gamma delta,"]
    assert join_pieces(pieces, identity(pieces)) == text


def test_too_long_sees_placeholder_text() -> None:
    seen: list[str] = []
    segment_text("Open https://example.com/a/very/long/path/indeed now.", too_long=lambda s: seen.append(s) or False)
    assert seen == ["Open [1] now."]


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = "import ru_llm.translate.segment, ru_llm.translate.checks, ru_llm.translate.repair, sys; " + (
        "print([m for m in ('torch', 'transformers', 'datasets') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr
