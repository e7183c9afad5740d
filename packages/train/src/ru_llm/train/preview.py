"""``train preview``: what the trainer sees, token by token (axolotl's ``preprocess --debug``)."""

from __future__ import annotations

from typing import Any

from ru_llm.core.jsonl import Reject
from ru_llm.train.config import RunConfig
from ru_llm.train.data.encode import IGNORE_INDEX, ConversationEncoder, EncodeStats, Sample, encode_all


def preview_samples(config: RunConfig, count: int) -> tuple[list[tuple[Sample, Any]], list[Reject]]:
    """The first ``count`` usable samples with the tokenizer, and the rejects met on the way."""
    from ru_llm.core.errors import ConfigError
    from ru_llm.core.families import model_family_for
    from ru_llm.train.datasets import resolve_run_template
    from ru_llm.train.registry import get_strategy
    from ru_llm.train.run import load_model_config, load_run_tokenizer

    strategy = get_strategy(config.strategy)
    model_config = load_model_config(config)
    family = model_family_for(model_config)
    tokenizer = load_run_tokenizer(config, family)
    rejects: list[Reject] = []
    if strategy.data_kind == "text" and config.cpt.corpora:
        from ru_llm.train.data.text import mixed_documents, text_blocks

        docs = mixed_documents(config.cpt.corpora, seed=config.seed, limit=count * 50)
        return [(s, tokenizer) for s in text_blocks(docs, tokenizer, block_size=config.max_length)[:count]], []
    if config.data is None:
        raise ConfigError("'data' is required to preview samples")
    from ru_llm.train.data.sources import open_data

    template = resolve_run_template(config, family, tokenizer)
    if strategy.data_kind == "preferences":
        return [(s, tokenizer) for s in _pair_samples(config, template, tokenizer, count, rejects)], rejects
    encoder = ConversationEncoder(template, tokenizer, max_length=config.max_length, train_on=config.train_on)
    data = open_data(config.data, on_reject=rejects.append)
    samples: list[Sample] = []
    stats = EncodeStats()
    for conv in data.train():
        samples += encode_all([conv], encoder, on_reject=rejects.append, stats=stats)
        if len(samples) >= count:
            break
    return [(s, tokenizer) for s in samples], rejects


def _pair_samples(config: RunConfig, template: Any, tokenizer: Any, count: int, rejects: list[Reject]) -> list[Sample]:
    """Each of the first ``count`` usable pairs as two samples, prompt + chosen and prompt + rejected."""
    import numpy as np

    from ru_llm.train.data.preference import encode_pairs
    from ru_llm.train.data.sources import open_data

    assert config.data is not None
    data = open_data(config.data, on_reject=rejects.append, preferences=True)
    samples: list[Sample] = []
    for pair in data.train():
        rows = encode_pairs(
            [pair], template, tokenizer, max_length=config.max_length,
            max_prompt_length=config.dpo.max_prompt_length, on_reject=rejects.append, stats=EncodeStats(),
        )  # fmt: skip
        for row in rows:
            prompt = row["prompt_ids"]
            for side in ("chosen", "rejected"):
                reply = row[f"{side}_ids"]
                ids = np.asarray(prompt + reply, dtype=np.int32)
                labels = np.asarray([IGNORE_INDEX] * len(prompt) + reply, dtype=np.int32)
                samples.append(Sample(f"{pair.id} ({side})", ids, labels))
        if len(samples) >= 2 * count:
            break
    return samples


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
