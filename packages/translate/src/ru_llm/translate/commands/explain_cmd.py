"""`ru-llm translate NAME --explain ID`: what the engine would do with one record, segment by segment.

A user who wonders why a command was (or was not) translated sees each piece of each message: sent to
MT, sent with protected spans, or kept verbatim, and the reason (``Piece.reason``). Nothing is
translated and nothing is written; no MT model is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError, RuLLMError
from ru_llm.core.options import parse_key_values
from ru_llm.translate.commands.hub import offline_if_unreachable

OFFLINE_HINT = "offline? pass --source PATH for the data"
TEXT_WIDTH = 80


def find_record(name: str, record_id: str, *, source: Path | None, option: list[str] | None) -> Any:
    """The conversation with id ``record_id`` (or, for an output id, ``record_id`` without ``-ru``)."""
    from ru_llm.dataset.registry import get_dataset_builder

    builder = get_dataset_builder(name)
    wanted = {record_id, record_id.removesuffix("-ru")}
    options = parse_key_values(option, "--option")
    with offline_if_unreachable(source is None) as unreachable:
        try:
            for conv in builder.load(source, options, on_reject=lambda reject: None):
                if conv.id in wanted:
                    return conv
        except RuLLMError as e:
            note = f" [{unreachable} did not answer: only the local Hugging Face cache was tried]" * bool(unreachable)
            raise RuLLMError(str(e) + ("" if source else note), hint=e.hint if source else OFFLINE_HINT) from e
    where = str(source) if source else (builder.hub_id or name)
    raise ConfigError(f"no record with id {record_id!r} in {name} ({where})", hint="ids are the records' `id` fields")


def explain_conversation(conv: Any) -> dict[str, Any]:
    """Every piece of every message: index, action, kind, reason, text (placeholders in) and spans."""
    from ru_llm.translate.segment import segment_text

    messages = []
    for m, message in enumerate(conv.messages):
        segments = [
            {"index": i, "action": p.action, "kind": p.kind, "reason": p.reason, "text": p.text, "spans": list(p.spans)}
            for i, p in enumerate(segment_text(message.content))
        ]
        messages.append({"index": m, "role": message.role, "segments": segments})
    return {"id": conv.id, "source": conv.source, "messages": messages}


def _shown(text: str, width: int = TEXT_WIDTH) -> str:
    """One line: line ends and tabs visible, long text cut with an ellipsis."""
    visible = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return visible if len(visible) <= width else visible[: width - 1] + "…"


def print_explanation(report: dict[str, Any], *, as_json: bool) -> None:
    """A rich table per message on stdout, or the report as JSON."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    console = Console()
    styles = {"sent": "green", "protected": "yellow", "kept": "dim"}
    for message in report["messages"]:
        table = Table(title=f"{report['id']} · message {message['index']} ({message['role']})", title_justify="left")
        for column in ("#", "action", "reason", "text", "spans"):
            table.add_column(column, overflow="fold" if column == "text" else "ellipsis")
        for seg in message["segments"]:
            style = styles[seg["action"]]
            spans = ", ".join(f"[{n}] {_shown(span, 30)}" for n, span in enumerate(seg["spans"], start=1))
            table.add_row(str(seg["index"]), f"[{style}]{seg['action']}[/]", seg["reason"], escape(_shown(seg["text"])),
                          escape(spans))  # fmt: skip
        console.print(table)
    counts = {a: sum(s["action"] == a for m in report["messages"] for s in m["segments"]) for a in styles}
    console.print(f"{counts['sent']} sent, {counts['protected']} sent with protected spans, {counts['kept']} kept")


def explain_command(name: str, record_id: str, *, source: Path | None, option: list[str] | None, as_json: bool) -> None:
    """Find the record, segment it and print the explanation; no MT, no output files."""
    print_explanation(explain_conversation(find_record(name, record_id, source=source, option=option)), as_json=as_json)
