"""Cut the labelled pass-through segments out of the shared real data (run by hand, never by the tests).

    uv run python tests/data/translate_passthrough/cut_segments.py candidates > /tmp/blocks.jsonl
    uv run python tests/data/translate_passthrough/cut_segments.py build

``candidates`` prints every block of every English message (one JSON object a line: source, block index,
a heuristic guess of its class, the text) to pick from by hand. ``build`` reads the hand-made
``labels.tsv`` beside this script and writes ``segments.jsonl``: each segment's text is an exact slice of
a real message, found again by its source and block numbers, so the labels stay tied to real text.

Messages are split into blocks on blank lines; a fenced code block (``` or ~~~) is one block even when it
holds blank lines. ``labels.tsv`` columns (tab-separated, ``#`` starts a comment line):

    id  source  blocks  label  class  check

``blocks`` is ``B`` (block B), ``B-C`` (blocks B to C with the blank lines between them, verbatim) or
``B:L-M`` (lines L to M of block B, 0-based, inclusive). ``check`` is ``-`` (the whole text is judged) or
the parts of the text that are judged instead: block specs of the same form, or ``re:<pattern>`` (every
match in the text), several joined by `` ; ``. They become the record's ``check`` list: for non-prose the
parts that must not be sent (indented code after its lead-in line, inline math in a sentence), for prose
the part that must be (an indented prose list after its lead-in line).

Sources: ``oasst:<message_id>`` (OASST1, en_100_tree), ``self_instruct:<task id>:instruction`` or
``self_instruct:<task id>:<instance>:input|output`` (self-instruct's instruction/input/output records, the
Dolly-style data bundled here), ``mt_bench_ref:<question id>:<turn>`` (FastChat's GPT-4 reference answers
to MT-Bench) and ``mt_bench_q:<question id>:<turn>`` (the MT-Bench questions). Set ``RU_LLM_SHARED_DATA``
to read the shared data from elsewhere than ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("RU_LLM_SHARED_DATA", HERE.parents[3] / "shared" / "data"))
LICENCES = {
    "oasst": "Apache-2.0 (LICENSE.Open-Assistant)",
    "self_instruct": "Apache-2.0 (LICENSE.self-instruct)",
    "mt_bench_ref": "Apache-2.0 (LICENSE.FastChat)",
    "mt_bench_q": "Apache-2.0 (LICENSE.FastChat)",
}
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")


def load_messages(shared: Path = SHARED) -> dict[str, str]:
    """Every English message of the shared data by source id."""
    messages: dict[str, str] = {}

    def walk(message: dict) -> None:
        if message.get("lang") == "en":
            messages[f"oasst:{message['message_id']}"] = message["text"]
        for reply in message.get("replies", []):
            walk(reply)

    for line in (shared / "oasst/en_100_tree.jsonl").open(encoding="utf-8"):
        walk(json.loads(line)["prompt"])
    for name in ("self_instruct_seed_tasks", "self_instruct_user_oriented_instructions"):
        for line in (shared / f"instructions/en/{name}.jsonl").open(encoding="utf-8"):
            task = json.loads(line)
            messages[f"self_instruct:{task['id']}:instruction"] = task["instruction"]
            for k, instance in enumerate(task["instances"]):
                for field in ("input", "output"):
                    if instance.get(field):
                        messages[f"self_instruct:{task['id']}:{k}:{field}"] = instance[field]
    for line in (shared / "instructions/en/fastchat_mt_bench_reference_gpt4.jsonl").open(encoding="utf-8"):
        answer = json.loads(line)
        for turn, text in enumerate(answer["choices"][0]["turns"]):
            messages[f"mt_bench_ref:{answer['question_id']}:{turn}"] = text
    for line in (shared / "instructions/en/fastchat_mt_bench_question.jsonl").open(encoding="utf-8"):
        question = json.loads(line)
        for turn, text in enumerate(question["turns"]):
            messages[f"mt_bench_q:{question['question_id']}:{turn}"] = text
    return messages


def blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the blocks of ``text``: runs of non-blank lines, a fenced block whole."""
    lines = text.split("\n")
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        start = i
        fence = None
        while i < len(lines) and (fence or lines[i].strip()):
            opened = _FENCE.match(lines[i])
            if opened and fence is None:
                fence = opened.group(1)[0] * len(opened.group(1))
            elif fence and lines[i].strip().startswith(fence) and lines[i].strip().strip(fence[0]) == "":
                fence = None
            i += 1
        spans.append((offsets[start], offsets[i - 1] + len(lines[i - 1])))
    return spans


def cut(text: str, spec: str) -> str:
    """The slice of ``text`` named by a block spec (``B``, ``B-C`` or ``B:L-M``)."""
    spans = blocks(text)
    if ":" in spec:
        block, lines = spec.split(":")
        first, last = (int(n) for n in lines.split("-"))
        start, end = spans[int(block)]
        return "\n".join(text[start:end].split("\n")[first : last + 1])
    first, _, last = spec.partition("-")
    return text[spans[int(first)][0] : spans[int(last or first)][1]]


def checks(text: str, message: str, spec: str) -> list[str]:
    """The judged parts of a segment: block specs of the message, or ``re:<pattern>`` matches in the text."""
    parts: list[str] = []
    for one in spec.split(" ; "):
        if one.startswith("re:"):
            parts += [match.group(0) for match in re.finditer(one[3:], text)]
        else:
            parts.append(cut(message, one))
    return parts


def guess(block: str) -> str:
    """A rough class for reviewing candidates; every label in labels.tsv was decided by reading the text."""
    tests = [
        ("fenced_code", r"^\s*(```|~~~)"),
        ("indented_code", r"^(    |\t)\S"),
        ("stack_trace", r"Traceback|^\s+at [\w.$]+\(|Exception"),
        ("shell", r"(?m)^\s*[$#] \S"),
        ("sql", r"(?i)^\s*(SELECT|INSERT|CREATE TABLE|UPDATE|DELETE)\b"),
        ("xml", r"^\s*<[?!\w]"),
        ("json", r"^\s*[\[{]"),
        ("latex", r"\\\[|\\\(|\$[^$\s][^$]*\$"),
        ("yaml", r"(?m)^\w[\w-]*:\s*$"),
        ("cli", r"(?m)^\s*(pip|npm|sudo|apt|git|docker|cd|ls|python3?|curl|wget|conda)\s"),
        ("prose_list", r"^\s*(\d+[.)]|[-*•])\s"),
        ("prose_heading", r"^#{1,6}\s"),
    ]
    for name, pattern in tests:
        if re.search(pattern, block):
            return name
    return "prose"


def build(messages: dict[str, str]) -> list[dict]:
    rows, seen, texts = [], set(), {}
    for number, line in enumerate((HERE / "labels.tsv").read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        ident, source, spec, label, klass, check = line.split("\t")
        if ident in seen:
            raise SystemExit(f"labels.tsv:{number}: duplicate id {ident}")
        seen.add(ident)
        if label not in ("prose", "nonprose"):
            raise SystemExit(f"labels.tsv:{number}: bad label {label!r}")
        message = messages[source]
        row = {"id": ident, "text": cut(message, spec), "label": label, "class": klass, "source": source}
        if check != "-":
            row["check"] = checks(row["text"], message, check)
            missing = [part for part in row["check"] if part not in row["text"]]
            if not row["check"] or missing:
                raise SystemExit(f"labels.tsv:{number}: check {check!r} is not part of the text: {missing}")
        if row["text"] in texts:
            raise SystemExit(f"labels.tsv:{number}: {ident} repeats the text of {texts[row['text']]}")
        texts[row["text"]] = ident
        row["licence"] = LICENCES[source.split(":")[0]]
        rows.append(row)
    return rows


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "build"
    messages = load_messages()
    if command == "candidates":
        for source, text in messages.items():
            for k, (start, end) in enumerate(blocks(text)):
                block = text[start:end]
                print(json.dumps({"source": source, "block": k, "guess": guess(block), "text": block}))
    elif command == "build":
        rows = build(messages)
        with (HERE / "segments.jsonl").open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"wrote {len(rows)} segments to {HERE / 'segments.jsonl'}", file=sys.stderr)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
