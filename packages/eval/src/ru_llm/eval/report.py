"""`eval compare`: results files side by side — a terminal table, Markdown, and a self-contained HTML page.

The HTML embeds its charts as PNG data URIs (matplotlib) and its styles inline, so it opens anywhere,
offline, with nothing fetched.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError

Row = tuple[str, str, list[Any]]

# Metrics shown in the summary (per-subject numbers stay in the JSON and the HTML detail tables).
_HEADLINE_PREFIXES = ("subject/",)


def load_results(paths: list[Path]) -> list[tuple[str, dict[str, Any]]]:
    runs = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigError(f"{path}: not a readable results file ({e})") from None
        if not isinstance(data, dict) or not isinstance(data.get("tasks"), dict):
            raise ConfigError(f"{path}: not an `ru-llm eval run` results file (no 'tasks')")
        label = Path(path).stem
        runs.append((label, data))
    labels = [label for label, _ in runs]
    if len(set(labels)) != len(labels):  # same file names in different folders: use the paths
        runs = [(str(path), data) for path, (_, data) in zip(paths, runs, strict=True)]
    return runs


def comparison_rows(
    runs: list[tuple[str, dict[str, Any]]], *, details: bool = False
) -> list[tuple[str, str, list[Any]]]:
    """``(task, metric, value per run)`` for every metric any run has."""
    rows: list[Row] = []
    tasks: list[str] = []
    for _, data in runs:
        tasks += [t for t in data["tasks"] if t not in tasks]
    for task in tasks:
        metrics: list[str] = []
        for _, data in runs:
            metrics += [m for m in data["tasks"].get(task, {}).get("metrics", {}) if m not in metrics]
        for metric in metrics:
            if not details and metric.startswith(_HEADLINE_PREFIXES):
                continue
            rows.append(
                (task, metric, [data["tasks"].get(task, {}).get("metrics", {}).get(metric) for _, data in runs])
            )
        counts = [data["tasks"].get(task, {}).get("counts", {}) for _, data in runs]
        rows.append(
            (
                task,
                "items scored / failed",
                [f"{c.get('scored', '-')} / {c.get('failed', '-')}" if c else None for c in counts],
            )
        )
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def ratio(values: list[Any]) -> str:
    """``second / first`` when two runs are compared (Ruadapt's speed-up: adapted over base)."""
    if len(values) != 2 or not all(isinstance(v, (int, float)) for v in values) or not values[0]:
        return "—"
    return f"{values[1] / values[0]:.3f}"


def markdown_report(runs: list[tuple[str, dict[str, Any]]]) -> str:
    two = len(runs) == 2
    labels = [label for label, _ in runs] + ([f"{runs[1][0]} / {runs[0][0]}"] if two else [])
    header = "| task | metric | " + " | ".join(labels) + " |"
    lines = ["# Evaluation results", "", header, "|---|---|" + "---|" * len(labels)]
    for task, metric, values in comparison_rows(runs):
        cells = [_fmt(v) for v in values] + ([ratio(values)] if two else [])
        lines.append(f"| {task} | {metric} | " + " | ".join(cells) + " |")
    lines += ["", "Models:", ""]
    for label, data in runs:
        model = data.get("model", {})
        adapter = f" + adapter {model['adapter']}" if model.get("adapter") else ""
        lines.append(f"- **{label}**: {model.get('path')}{adapter}")
    return "\n".join(lines) + "\n"


def _chart(title: str, labels: list[str], groups: list[str], values: list[list[float | None]]) -> str:
    """A grouped bar chart as a PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(groups) * max(1, len(labels)) / 2), 3.2), dpi=100)
    width = 0.8 / max(len(labels), 1)
    for i, label in enumerate(labels):
        xs = [g + i * width for g in range(len(groups))]
        ax.bar(xs, [v[i] if v[i] is not None else 0.0 for v in values], width=width, label=label)
    ax.set_xticks([g + width * (len(labels) - 1) / 2 for g in range(len(groups))])
    ax.set_xticklabels(groups, rotation=20, ha="right", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def html_report(runs: list[tuple[str, dict[str, Any]]]) -> str:
    labels = [label for label, _ in runs]
    charts = []
    by_task: dict[str, list[tuple[str, list[Any]]]] = {}
    for task, metric, values in comparison_rows(runs, details=True):
        if all(isinstance(v, (int, float)) or v is None for v in values):
            by_task.setdefault(task, []).append((metric, values))
    for task, metrics in by_task.items():
        headline = [(m, v) for m, v in metrics if not m.startswith(("subject/", "category/"))][:6]
        if headline:
            charts.append(_chart(f"{task}", labels, [m for m, _ in headline], [v for _, v in headline]))
        categories = [(m.split("/", 1)[1], v) for m, v in metrics if m.startswith("category/")]
        if categories:
            charts.append(_chart(f"{task}: accuracy by MMLU category", labels, [c for c, _ in categories],
                                 [v for _, v in categories]))  # fmt: skip
    rows = "\n".join(
        "<tr><td>" + html.escape(task) + "</td><td>" + html.escape(metric) + "</td>"
        + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in values) + "</tr>"
        for task, metric, values in comparison_rows(runs, details=True)
    )  # fmt: skip
    head = "".join(f"<th>{html.escape(label)}</th>" for label in labels)
    images = "\n".join(f'<img alt="chart" src="{src}">' for src in charts)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ru-llm evaluation</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}td:first-child,td:nth-child(2){{text-align:left}}
img{{max-width:100%;margin:1em 0;display:block}}</style></head>
<body><h1>Evaluation results</h1>
{images}
<table><thead><tr><th>task</th><th>metric</th>{head}</tr></thead><tbody>
{rows}
</tbody></table></body></html>
"""


def terminal_table(runs: list[tuple[str, dict[str, Any]]]) -> Any:
    from rich.table import Table

    table = Table(title="evaluation results")
    table.add_column("task")
    table.add_column("metric")
    for label, _ in runs:
        table.add_column(label, justify="right")
    two = len(runs) == 2
    if two:
        table.add_column(f"{runs[1][0]} / {runs[0][0]}", justify="right")
    for task, metric, values in comparison_rows(runs):
        table.add_row(task, metric, *(_fmt(v) for v in values), *([ratio(values)] if two else []))
    return table
