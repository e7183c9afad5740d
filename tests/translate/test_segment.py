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


# --- CommonMark code blocks (issue 16) ---------------------------------------------------------------


def reasons(text: str) -> list[tuple[str, str]]:
    """(action, reason) of each piece that is not spacing."""
    return [(p.action, p.reason) for p in segment_text(text) if p.kind != "layout"]


def kept_reason(text: str, part: str) -> str:
    """The reason of the verbatim piece that holds ``part``."""
    (piece,) = [p for p in segment_text(text) if not p.translate and part in p.text]
    return piece.reason


@pytest.mark.parametrize("indent", ["    ", "\t", "  \t", "     "])
def test_one_line_indented_code_block_after_a_blank_line_is_kept(indent: str) -> None:
    text = f"Use the command:\n\n{indent}npm run build\n\nThen open the page."
    assert prose(text) == ["Use the command:", "Then open the page."]
    assert kept_reason(text, "npm run build") == "indented_code"


def test_indented_code_at_the_start_of_the_text_is_kept() -> None:
    assert reasons("\tcompile all the things\n") == [("kept", "indented_code")]


def test_indented_line_without_a_blank_line_before_is_a_paragraph_continuation() -> None:
    assert prose("Use the command\n    to build it all") == ["Use the command", "to build it all"]


def test_indented_lines_in_a_list_item_continuation_are_translated() -> None:
    text = "1. Open the settings page:\n\n    Pick the account you want to change.\n\n2. Save it."
    assert prose(text) == ["Open the settings page:", "Pick the account you want to change.", "Save it."]
    nested = "- Item one\n\n      some_code(x)\n"  # six spaces: four past the item's content column
    assert kept_reason(nested, "some_code") == "indented_code"


def test_indented_prose_list_is_translated_but_one_prose_looking_command_is_not() -> None:
    text = "Day 1:\n\n    Visit the Parliament and the castle\n    Take a boat tour on the Danube"
    assert prose(text) == ["Day 1:", "Visit the Parliament and the castle", "Take a boat tour on the Danube"]
    assert prose("Run:\n\n    make html\n") == ["Run:"]


@pytest.mark.parametrize(
    "block",
    [
        "```\nx = 1\n```",
        "````python title=a.py\nprint('hi')\n````",
        "~~~\nSome prose inside a tilde fence.\n~~~",
        "~~~~~ js\nconsole.log(1)\n~~~~~",
        "```bash\npip install foo\n```",
    ],
)
def test_fences_of_any_length_with_info_strings_are_kept(block: str) -> None:
    text = f"Look:\n{block}\nDone now."
    assert prose(text) == ["Look:", "Done now."]
    assert kept_reason(text, block.split("\n")[1]) == "fenced_code"


@pytest.mark.parametrize(
    "text",
    [
        "Try it:\n```\nprint('hi')\nAnd this is inside the fence too.",
        "Try it:\n~~~\nA fence closed by the wrong marker.\n```\nStill inside.",
        "Try it:\n````\nA longer fence.\n```\nStill inside.",
    ],
)
def test_unclosed_and_unbalanced_fences_run_to_the_end(text: str) -> None:
    assert prose(text) == ["Try it:"]
    pieces = segment_text(text)
    assert join_pieces(pieces, identity(pieces)) == text


def test_crlf_and_lone_cr_line_ends_are_kept_and_code_blocks_still_found() -> None:
    text = "Use the command:\r\n\r\n    pip install foo\r\n\r\nThat is all.\rBye now.\r\n"
    pieces = segment_text(text)
    assert [p.text for p in pieces if p.translate] == ["Use the command:", "That is all.", "Bye now."]
    assert join_pieces(pieces, identity(pieces)) == text
    assert all("\r" not in p.text for p in pieces if p.translate)


def test_tabs_mixed_with_spaces_keep_their_layout() -> None:
    text = "Steps:\n\n \t\tdef f():\n\t  \treturn 1\n\n\t \n- \tAn item\twith a tab"
    pieces = segment_text(text)
    assert join_pieces(pieces, identity(pieces)) == text
    assert prose(text) == ["Steps:", "An item\twith a tab"]


def test_a_very_long_single_line_round_trips_quickly() -> None:
    import time

    for text in ("word " * 20_000, "x" * 100_000, "Mr. " * 25_000, "`a" * 50_000):
        start = time.perf_counter()
        pieces = segment_text(text)
        assert join_pieces(pieces, identity(pieces)) == text
        assert time.perf_counter() - start < 5, text[:10]


_ALPHABET = [
    "\n", "\r", "\r\n", "\t", " ", "    ", "`", "```", "~~~", "$", "$$", "# ", "#", "- ", "1. ", "> ", "a", "z",
    "The word ", "pip install x", "<div>", "</div>", "<script>", "\\[", "\\]", "{", "}", '"k": 1,', "SELECT a FROM t",
    "Traceback (most recent call last):", '  File "x.py", line 3', "key: 1", "|", "[1]", "http://x.org/a", "--flag",
    "/usr/bin/x", "\x00", "\u2028", "\x0c", "Ж", "\\", "'", '"', "(", ")", ":", ".",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(400))
def test_random_text_rebuilds_exactly(seed: int) -> None:
    import random

    rng = random.Random(seed)
    text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 80)))
    pieces = segment_text(text)
    assert join_pieces(pieces, identity(pieces)) == text
    assert "".join(p.source for p in pieces) == text
    for piece in pieces:
        if piece.translate:
            assert piece.text.strip() == piece.text != ""
            assert "\n" not in piece.text and "\r" not in piece.text


# --- lines that are not prose --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("$ ls -la ~/projects", "shell"),
        ("# apt-get install -y curl", "shell"),
        ("user@host:~$ make install", "shell"),
        ("C:\\Users\\me> dir /s", "shell"),
        ("pip install requests", "shell"),
        ("sudo apt update && sudo apt upgrade", "shell"),
        ("git clone https://github.com/org/repo.git", "shell"),
        ("cd /var/www/html", "shell"),
        ("python train.py --epochs 3 --lr 1e-4", "shell"),
        ("docker run -it --rm ubuntu bash", "shell"),
        ("curl -O https://example.com/file.tar.gz", "shell"),
        ("export PATH=$PATH:/opt/bin", "shell"),
        ("./configure --prefix=/usr/local", "shell"),
        ('  File "main.py", line 3, in <module>', "stack_trace"),
        ("ValueError: invalid literal for int() with base 10: 'abc'", "stack_trace"),
        ("\tat com.example.Foo.bar(Foo.java:12)", "stack_trace"),
        ("    at Object.<anonymous> (/app/index.js:5:11)", "stack_trace"),
        ("SELECT name, age FROM users WHERE age > 30;", "sql"),
        ("INSERT INTO users (name) VALUES ('Ann');", "sql"),
        ("CREATE TABLE users (id INTEGER PRIMARY KEY);", "sql"),
        ('{"name": "Ann", "age": 30}', "json"),
        ('"description": "A small tool",', "json"),
        ("<item>value</item>", "xml"),
        ('<?xml version="1.0" encoding="UTF-8"?>', "html_block"),  # a processing instruction: CommonMark's own
        ("<title>Random Joke Generator</title>", "xml"),
        ("$$E = mc^2$$", "latex"),
        ("\\[ \\int_0^1 x^2 \\, dx = \\frac{1}{3} \\]", "latex"),
        ("$a^2 + b^2 = c^2$", "latex"),
        ("\\documentclass{article}", "latex"),
    ],
)
def test_non_prose_lines_are_kept_with_their_reason(line: str, reason: str) -> None:
    text = f"Look at this:\n{line}\nNice, is it not?"
    assert prose(text) == ["Look at this:", "Nice, is it not?"]
    assert kept_reason(text, line.strip()) == reason


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        (
            'Traceback (most recent call last):\n  File "a.py", line 1, in <module>\n    main()\n'
            "KeyError: 'missing key'",
            "stack_trace",
        ),
        ("SELECT name\nFROM users\nWHERE age > 30\nORDER BY name;", "sql"),
        ("select FirstName, LastName\nfrom Person left join Address\non Person.Id = Address.Id", "sql"),
        ("name: my-app\nversion: 1.2.0\ndependencies:\n  - numpy\n  - pandas", "yaml"),
        ("$$\n\\sum_{i=1}^n i = \\frac{n(n+1)}{2}\n$$", "latex"),
        ("\\[\n\\int_a^b f(x) dx\n\\]", "latex"),
        ("\\begin{align}\nf(x) &= x^2 \\\\\ng(x) &= \\sin x\n\\end{align}", "latex"),
    ],
)
def test_multi_line_non_prose_is_kept_whole(block: str, reason: str) -> None:
    text = f"Here it is:\n{block}\n\nThat is the whole thing."
    assert prose(text) == ["Here it is:", "That is the whole thing."]
    lines = [line for line in block.split("\n") if line.strip()]
    assert {kept_reason(text, line) for line in lines[1:]} >= {reason}


def test_script_element_inside_html_is_kept_with_its_strings() -> None:
    text = (
        '<script>\n  const jokes = [\n    "Why did the chicken cross the road?",\n    "To get to the other side."\n'
        "  ];\n</script>"
    )
    assert prose(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Pros:\n- fast\n- cheap\nCons:\n- ugly",
        "Name: John Smith\nAge: 30",
        "git is a version control system",
        "make sure to save your work",
        "go get some rest",
        "Select the best option.",
        "It costs $5 and $10 in total.",
        "The while loop: it repeats a block",
        "KeyError: raised when a key is missing from a dictionary.",
        "find the answer in the book",
    ],
)
def test_prose_that_looks_a_little_like_code_is_still_sent(text: str) -> None:
    sent = " ".join(prose(text))
    letters = [ch for ch in text if ch.isalpha()]
    assert sum(ch.isalpha() for ch in sent) == len(letters), segment_text(text)


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("To install it, run pip install requests and restart.", ("pip install requests",)),
        ("Use sudo apt-get install -y curl first.", ("sudo apt-get install -y curl",)),
        ("Run git clone https://github.com/x/y.git to get it.", ("git clone https://github.com/x/y.git",)),
        ("Pass --force to overwrite.", ("--force",)),
        ("Edit ~/.bashrc and /etc/nginx/nginx.conf.", ("~/.bashrc", "/etc/nginx/nginx.conf")),
        ("The loop runs $n-1$ times, so $O(n^2)$ in all.", ("$n-1$", "$O(n^2)$")),
        ("Here \\(x + y\\) is the sum.", ("\\(x + y\\)",)),
    ],
)
def test_commands_flags_paths_and_math_in_a_sentence_are_protected_spans(text: str, spans: tuple[str, ...]) -> None:
    (piece,) = [p for p in segment_text(text) if p.translate]
    assert piece.spans == spans and piece.action == "protected" and piece.reason == "prose"
    assert restore_spans(piece.text, piece.spans) == text


def test_money_and_slashes_in_prose_are_not_spans() -> None:
    for text in ("It costs $5 and $10, or $5-$10.", "Open 24/7, and/or at 60 km/h."):
        assert protect_spans(text) == (text, ())


def test_every_piece_says_why() -> None:
    text = "# Setup\n\n```sh\nmake\n```\n\n    pip install x\n\nSee https://x.org/a\n\nRun `ls` now.\n"
    assert reasons(text) == [
        ("sent", "prose"),
        ("kept", "fenced_code"),
        ("kept", "indented_code"),
        ("protected", "prose"),
        ("protected", "prose"),
    ]
    assert {p.reason for p in segment_text(text) if p.kind == "layout"} <= {"layout", "blank"}
    assert kept_reason("Links:\nhttps://x.org/a\nok", "https") == "url"
