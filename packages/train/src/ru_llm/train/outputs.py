"""What a finished run leaves beside the weights: loss curve, model card, training report."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ru_llm.train.config import BUILTIN_BLOCKS, RunConfig
from ru_llm.train.data.sources import DataSource

if TYPE_CHECKING:
    from ru_llm.train.pipelines import DataPipeline
    from ru_llm.train.strategy import TrainerStrategy


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of ``metrics.jsonl``; a line a kill cut short is left out (its step is logged again)."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
        if line.strip():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def plot_losses(metrics: list[dict[str, Any]], out: Path) -> bool:
    """Training (and validation) loss by step as a PNG; ``False`` when nothing was logged."""
    train = [(m["step"], m["loss"]) for m in metrics if "loss" in m]
    valid = [(m["step"], m["eval_loss"]) for m in metrics if "eval_loss" in m]
    if not train and not valid:
        return False
    import matplotlib

    matplotlib.use("Agg")  # no display; never opens a window
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        ax.plot(*zip(*train, strict=True), label="train", linewidth=1.2)
    if valid:
        ax.plot(*zip(*valid, strict=True), "o-", label="validation", linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    margins = [(m["step"], m["rewards/margins"]) for m in metrics if "rewards/margins" in m]
    if margins:  # preference runs: the reward margin (chosen minus rejected) on its own axis
        right = ax.twinx()
        (line,) = right.plot(*zip(*margins, strict=True), color="tab:green", linewidth=1.2)
        right.set_ylabel("reward margin")
        handles.append(line)
        labels.append("reward margin (train)")
    ax.legend(handles, labels)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return True


def final_losses(metrics: list[dict[str, Any]]) -> dict[str, float]:
    result: dict[str, float] = {}
    for m in metrics:
        if "loss" in m:
            result["train_loss"] = m["loss"]
        if "eval_loss" in m:
            result["eval_loss"] = m["eval_loss"]
    return result


def _licence_status(sources: list[DataSource]) -> str:
    """The card's licence sentence: "cleared" only when every record (or corpus) was stamped cleared."""
    if sources and all(s.commercial for s in sources):
        return (
            "All data sources are cleared for commercial use: every record was stamped `commercial: true` by the "
            "dataset builder that made it (for raw-text corpora, the run config marks each one)."
        )
    refused = [s.name for s in sources if s.status == "no"]
    unknown = [s.name for s in sources if s.status == "unknown"]
    reasons = [f"not cleared: {', '.join(refused)}"] if refused else []
    if unknown:
        reasons.append(f"unknown, no licence stamp: {', '.join(unknown)}")
    return "**Not cleared for commercial use** (" + ("; ".join(reasons) or "no source recorded") + ")."


def _commercial_cell(source: DataSource) -> str:
    why = source.why_not()
    return f"{source.status} ({why})" if why else source.status


def settings_in_use(config: RunConfig, strategy: TrainerStrategy, pipeline: DataPipeline) -> set[str]:
    """The settings blocks a run reads, as its strategy and data pipeline declare them (``settings_shown``):
    its own, the ``lora`` or ``full`` block whose parameters a ``dpo`` or ``cpt`` run trains, ``full`` for
    DeepSpeed, ``embeddings`` for LoRA with trained embeddings, ``cpt`` for the corpora a text run reads."""
    return strategy.settings_shown(config) | pipeline.settings_shown(config)


def card_config(tree: dict[str, Any], used: set[str], blocks: Iterable[str] = BUILTIN_BLOCKS) -> dict[str, Any]:
    """The resolved tree without the settings ``blocks`` the run does not use (the card's copy;
    ``config.resolved.yaml`` keeps every key)."""
    unused = set(blocks) - used
    return {k: v for k, v in tree.items() if k not in unused}


def _count(value: Any) -> str:
    """A count for the card: ``12,345``, or ``?`` when the report does not have it."""
    return f"{value:,}" if isinstance(value, int) else "?"


def model_card(
    *,
    base_model: str,
    strategy: str,
    adapter: bool,
    sources: list[DataSource],
    data: str,
    resolved_yaml: str,
    report: dict[str, Any],
    template: str,
) -> str:
    """A Hugging Face style README.md: base, data with licences, hyperparameters, tokens, losses."""
    import yaml

    licences = sorted({s.license for s in sources}) or ["unknown"]
    header = {
        "base_model": base_model,
        "library_name": "peft" if adapter else "transformers",
        "language": ["ru", "en"],
        "tags": ["ru-llm", strategy.split(" ")[0]],  # "dpo (loss: simpo; lora)" is tagged dpo
        "datasets_licenses": licences,
    }
    status = _licence_status(sources)
    rows = (
        "\n".join(f"| {s.name} | {s.license} | {_commercial_cell(s)} | {s.records} |" for s in sources)
        or "| (none recorded) | | | |"
    )
    losses = ", ".join(f"{k.replace('_', ' ')} {v:.4f}" for k, v in report.get("final", {}).items()) or "not logged"
    data_report = report.get("data", {})
    usage = (
        "```python\nfrom peft import AutoPeftModelForCausalLM\n"
        'model = AutoPeftModelForCausalLM.from_pretrained("PATH")\n```\n'
        "Merge into the base with `ru-llm train merge PATH --out MERGED`."
        if adapter
        else "```python\nfrom transformers import AutoModelForCausalLM\n"
        'model = AutoModelForCausalLM.from_pretrained("PATH")\n```'
    )
    return f"""---
{yaml.safe_dump(header, allow_unicode=True, sort_keys=False)}---

# {"LoRA adapter" if adapter else "Model"} trained with ru-llm

Base model: `{base_model}`; strategy `{strategy}`; chat template `{template}` (saved with the tokenizer, so
`apply_chat_template`, vLLM and llama.cpp render exactly what was trained).

## Data

From `{data}`. {status}

| source | licence | commercial use (licence stamp) | records read |
|---|---|---|---|
{rows}

Records in: {data_report.get("records", "?")}; used {data_report.get("used", "?")}; rejected
{data_report.get("rejected", "?")} (reasons in `rejects.jsonl`); shortened by whole turns
{data_report.get("truncated_by_turns", 0)}.

## Training

Optimizer steps {report.get("steps", "?")}; tokens seen {_count(report.get("tokens_seen"))}; final losses: {losses}.
Loss curve: `loss.png`; every logged step: `metrics.jsonl`.

## Use

{usage}

## Resolved configuration

The settings this run used (every key, other strategies' defaults too: `config.resolved.yaml`).

```yaml
{resolved_yaml}```
"""
