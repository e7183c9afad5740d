"""``train preview``: what the trainer sees, token by token (axolotl's ``preprocess --debug``)."""

from __future__ import annotations

from typing import Any

from ru_llm.core.jsonl import Reject
from ru_llm.train.config import RunConfig
from ru_llm.train.data.encode import IGNORE_INDEX, Sample


def preview_samples(config: RunConfig, count: int) -> tuple[list[tuple[Sample, Any]], list[Reject]]:
    """The first ``count`` usable samples with the tokenizer, and the rejects met on the way: the strategy's
    data pipeline (``ru_llm.train.pipelines``) makes them exactly as it makes the training set."""
    from ru_llm.core.families import model_family_for
    from ru_llm.train.loading import load_model_config, load_run_tokenizer
    from ru_llm.train.registry import get_pipeline, get_strategy

    pipeline = get_pipeline(get_strategy(config.strategy).data_kind)
    family = model_family_for(load_model_config(config))
    tokenizer = load_run_tokenizer(config, family)
    rejects: list[Reject] = []
    samples = pipeline.preview(config, family, tokenizer, count, rejects)
    return [(s, tokenizer) for s in samples], rejects


def render_preview(console: Any, samples: list[tuple[Sample, Any]], rejects: list[Reject]) -> None:
    """Each sample as text decoded span by span (green = trained on, dim = context), then a table of its
    tokens: every trained token, and of a long run of context only its first and last few."""
    from rich.table import Table
    from rich.text import Text

    from ru_llm.dataset.token_view import Elided, decoded_spans, elide_context, token_pieces

    for sample, tokenizer in samples:
        ids = sample.input_ids.tolist()
        labels = sample.labels.tolist()
        trained = [label != IGNORE_INDEX for label in labels]
        console.rule(
            f"{sample.id}: {len(sample)} tokens, {sum(trained)} trained"
            + (f", {sample.dropped_turns} trailing turns dropped to fit" if sample.dropped_turns else "")
        )
        text = Text()
        for span, is_trained in decoded_spans(tokenizer, ids, trained):
            text.append(span, style="bold green" if is_trained else "dim")
        console.print(text)
        pieces = token_pieces(tokenizer, ids)
        table = Table(show_header=True, header_style="bold")
        for column in ("#", "token", "id", "label"):
            table.add_column(column)
        for row in elide_context(trained):
            if isinstance(row, Elided):
                table.add_row("…", f"… {row.count} tokens …", "", "", style="dim")
                continue
            label = "-100" if labels[row] == IGNORE_INDEX else str(labels[row])
            table.add_row(str(row), pieces[row], str(ids[row]), label, style="green" if trained[row] else None)
        console.print(table)
    for reject in rejects:
        console.print(f"[yellow]rejected[/] {reject.record_id}: {reject.reason}")
