"""`eval compare`: results files side by side — a terminal table, Markdown, and a self-contained HTML page.

Each run is named by its model and adapter (from the results file's ``model``); a mean is shown with its
standard error (``{metric}_stderr``) as ``value ± stderr``; with two runs or more, each later run is tested
against the first over the per-item records both scored (:mod:`ru_llm.eval.significance`).

The HTML embeds its charts as PNG data URIs (matplotlib) and its styles inline, so it opens anywhere, offline,
with nothing fetched. A chart holds metrics of one kind only (rates on a 0-1 axis, 1-10 judge scores on
0-10, counts, speeds, times; any other value alone on its own axis), with error bars from the stderr values.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.eval.significance import PairedTest, paired_test

Run = tuple[str, dict[str, Any]]  # (label, results)

STDERR = "_stderr"
# Metrics shown in the summary (per-subject numbers stay in the JSON and the HTML detail tables).
_HEADLINE_PREFIXES = ("subject/",)
# What a metric measures, by its name (checked before its values: a count of 0 or 1 is not a rate)
_COUNTS = re.compile(r"(^|_)(failures|wins|losses|ties|tokens|shots|count|items|hit_token_limit|truncated_shots)$")
_SPEEDS = re.compile(r"per_(second|s)$")
_TIMES = re.compile(r"(^|_)(seconds|time|time_s|latency)$")
_JUDGE_SCORES = ("turn1", "turn2", "overall")  # MT-Bench's 1-10 ratings (with its category/* means)
KINDS = {  # kind: (axis label, fixed y range or None)
    "rate": ("rate (0-1)", (0.0, 1.0)),
    "score": ("judge score (1-10)", (0.0, 10.0)),
    "count": ("count", None),
    "speed": ("per second", None),
    "time": ("seconds", None),
    "value": ("value", None),
}


# -- loading -------------------------------------------------------------------------------------------------
def run_label(data: dict[str, Any], fallback: str) -> str:
    """``model`` (its last path part) and ``+ adapter`` when there is one; ``fallback`` without a model."""
    model = data.get("model") or {}
    path = model.get("path")
    if not path:
        return fallback
    label = _tail(str(path))
    if model.get("adapter"):
        label += f" + {_tail(str(model['adapter']))}"
    return label


def _tail(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] or path


def load_results(paths: list[Path]) -> list[Run]:
    runs: list[tuple[Path, dict[str, Any]]] = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigError(f"{path}: not a readable results file ({e})") from None
        if not isinstance(data, dict) or not isinstance(data.get("tasks"), dict):
            raise ConfigError(f"{path}: not an `ru-llm eval run` results file (no 'tasks')")
        runs.append((Path(path), data))
    names = [run_label(data, path.stem) for path, data in runs]
    # the same model twice (two settings): say which file
    labels = [f"{n} ({path.stem})" if names.count(n) > 1 else n for n, (path, _) in zip(names, runs, strict=True)]
    if len(set(labels)) != len(labels):  # same file names in different folders: the paths
        labels = [f"{n} ({path})" for n, (path, _) in zip(names, runs, strict=True)]
    return [(label, data) for label, (_, data) in zip(labels, runs, strict=True)]


# -- rows ----------------------------------------------------------------------------------------------------
@dataclass
class Row:
    task: str
    metric: str
    values: list[Any]
    stderrs: list[float | None] = field(default_factory=list)
    tests: list[PairedTest | None] = field(default_factory=list)  # each later run against the first


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _selection(metric: str) -> Callable[[dict[str, Any]], bool]:
    """Which items a metric is the mean of, by its name: ``turnN*`` the turn's, ``category/X`` and ``subject/X``
    theirs, any other name all of them."""
    turn = re.fullmatch(r"turn(\d+)(_.*)?", metric)
    if turn:
        return lambda r: r.get("turn") == int(turn.group(1))
    for key in ("category", "subject"):
        if metric.startswith(f"{key}/"):
            name = metric.split("/", 1)[1]
            return lambda r, key=key, name=name: r.get(key) == name
    return lambda r: True


def item_scores(task: dict[str, Any], metric: str) -> dict[str, float] | None:
    """The per-item scores ``metric`` is the mean of, by item ``id``; ``None`` unless the mean of the selected
    items' ``score`` is the reported value (so a test is never attached to a metric computed otherwise)."""
    value = (task.get("metrics") or {}).get(metric)
    records = task.get("items") or []
    if not _number(value) or not records:
        return None
    select = _selection(metric)
    scores = {str(r["id"]): float(r["score"]) for r in records if "id" in r and _number(r.get("score")) and select(r)}
    if not scores or not math.isclose(math.fsum(scores.values()) / len(scores), value, rel_tol=1e-9, abs_tol=1e-9):
        return None
    return scores


def paired(first: dict[str, Any] | None, other: dict[str, Any] | None, metric: str) -> PairedTest | None:
    """``other`` against ``first`` on ``metric``, over the items both scored (matched by ``id``)."""
    if first is None or other is None:
        return None
    a, b = item_scores(first, metric), item_scores(other, metric)
    if a is None or b is None:
        return None
    shared = [i for i in a if i in b]
    if len(shared) < 2:
        return None
    return paired_test([a[i] for i in shared], [b[i] for i in shared])


def comparison_rows(runs: list[Run], *, details: bool = False, tests: bool = True) -> list[Row]:
    """One row for every metric any run has (``_stderr`` ones go into their metric's row), then the counts."""
    rows: list[Row] = []
    tasks: list[str] = []
    for _, data in runs:
        tasks += [t for t in data["tasks"] if t not in tasks]
    for task in tasks:
        per_run = [data["tasks"].get(task) for _, data in runs]
        metrics: list[str] = []
        for entry in per_run:
            metrics += [m for m in (entry or {}).get("metrics", {}) if m not in metrics]
        for metric in metrics:
            if metric.endswith(STDERR) and metric[: -len(STDERR)] in metrics:
                continue
            if not details and metric.startswith(_HEADLINE_PREFIXES):
                continue
            values = [(entry or {}).get("metrics", {}).get(metric) for entry in per_run]
            stderrs = [(entry or {}).get("metrics", {}).get(metric + STDERR) for entry in per_run]
            row = Row(task, metric, values, [s if _number(s) else None for s in stderrs])
            if tests and len(runs) > 1:
                row.tests = [paired(per_run[0], other, metric) for other in per_run[1:]]
            rows.append(row)
        counts = [(entry or {}).get("counts", {}) for entry in per_run]
        scored = [f"{c.get('scored', '-')} / {c.get('failed', '-')}" if c else None for c in counts]
        rows.append(Row(task, "items scored / failed", scored))
    return rows


# -- cells ---------------------------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        # a count or a whole score stored as a float (truncated_shots 120.0) reads as the integer it is;
        # rates (0..1) keep their decimals, so 1.0 stays 1.0000
        return f"{int(value):,}" if value.is_integer() and abs(value) >= 2 else f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def cell(value: Any, stderr: float | None) -> str:
    """``0.5123 ± 0.0121`` (the standard error), or the value alone."""
    return _fmt(value) + (f" ± {stderr:.4f}" if stderr is not None and value is not None else "")


def ratio(values: list[Any]) -> str:
    """``second / first`` when two runs are compared (Ruadapt's speed-up: adapted over base)."""
    if len(values) != 2 or not all(_number(v) for v in values) or not values[0]:
        return "—"
    return f"{values[1] / values[0]:.3f}"


def test_cell(test: PairedTest | None) -> str:
    """``+0.0230, p=0.012: significant (McNemar, n=432)``; ``—`` where no paired test applies."""
    if test is None:
        return "—"
    verdict = "significant" if test.significant else "not significant"
    p = f"p={test.p:.3f}" if test.p >= 0.001 else "p<0.001"
    return f"{test.difference:+.4f} {verdict} ({p}, {test.test}, n={test.n})"


def _headers(runs: list[Run]) -> tuple[list[str], list[str]]:
    labels = [label for label, _ in runs]
    if len(runs) == 2:
        return labels, [f"{labels[1]} / {labels[0]}", "paired test"]
    return labels, [f"{label} vs {labels[0]}" for label in labels[1:]]


def _extra_cells(row: Row, runs: list[Run]) -> list[str]:
    cells = [ratio(row.values)] if len(runs) == 2 else []
    if len(runs) > 1:
        cells += [test_cell(t) for t in row.tests] if row.tests else ["—"] * (len(runs) - 1)
    return cells


def markdown_report(runs: list[Run]) -> str:
    labels, extra = _headers(runs)
    header = "| task | metric | " + " | ".join(labels + extra) + " |"
    lines = ["# Evaluation results", "", header, "|---|---|" + "---|" * (len(labels) + len(extra))]
    for row in comparison_rows(runs):
        cells = [cell(v, s) for v, s in zip(row.values, row.stderrs or [None] * len(runs), strict=True)]
        lines.append(f"| {row.task} | {row.metric} | " + " | ".join(cells + _extra_cells(row, runs)) + " |")
    lines += ["", "± is the standard error of the mean. " + SIGNIFICANCE_NOTE, "", "Models:", ""]
    for label, data in runs:
        lines.append(f"- **{label}**: {_model_line(data)}")
    return "\n".join(lines) + "\n"


SIGNIFICANCE_NOTE = (
    "A later run is tested against the first over the items both scored (matched by id): McNemar's exact test "
    "for 0/1 scores, the paired bootstrap (10,000 resamples) for others; significant means p < 0.05."
)


def _model_line(data: dict[str, Any]) -> str:
    model = data.get("model") or {}
    adapter = f" + adapter {model['adapter']}" if model.get("adapter") else ""
    return f"{model.get('path')}{adapter}"


def terminal_table(runs: list[Run]) -> Any:
    from rich.table import Table

    table = Table(title="evaluation results", caption="± standard error; vs: a paired test over the items")
    table.add_column("task")
    table.add_column("metric")
    labels, extra = _headers(runs)
    for label in labels + extra:
        table.add_column(label, justify="right")
    for row in comparison_rows(runs):
        values = [cell(v, s) for v, s in zip(row.values, row.stderrs or [None] * len(runs), strict=True)]
        table.add_row(row.task, row.metric, *values, *_extra_cells(row, runs))
    return table


# -- charts --------------------------------------------------------------------------------------------------
def metric_kind(metric: str, values: list[Any], judge_scores: bool = False) -> str:
    """``rate``, ``score``, ``count``, ``speed``, ``time`` or ``value`` (see :data:`KINDS`): by the name first,
    then by the values (all within 0-1: a rate). ``judge_scores``: the task rates 1-10 (MT-Bench)."""
    name = metric.rsplit("/", 1)[-1]
    if _SPEEDS.search(name):
        return "speed"
    if _TIMES.search(name):
        return "time"
    if _COUNTS.search(name):
        return "count"
    numbers = [v for v in values if _number(v)]
    if numbers and all(0.0 <= v <= 1.0 for v in numbers):
        return "rate"
    if judge_scores and (name in _JUDGE_SCORES or metric.startswith("category/")) and all(v <= 10 for v in numbers):
        return "score"
    return "value"


@dataclass
class Chart:
    title: str
    kind: str
    groups: list[str]  # the metrics, along the x axis
    values: list[list[float | None]]  # per group, per run
    errors: list[list[float | None]]

    @property
    def wide(self) -> bool:
        return len(self.groups) > 6


def charts(runs: list[Run]) -> list[Chart]:
    """The charts of the HTML report: per task, one per kind of headline metric, then one per kind of its
    ``category/*`` breakdown; a ``value`` (a scale of its own) gets a chart to itself."""
    out: list[Chart] = []
    rows = [r for r in comparison_rows(runs, details=True, tests=False) if not r.metric.startswith("subject/")]
    for task in dict.fromkeys(r.task for r in rows):
        numeric = [r for r in rows if r.task == task and all(_number(v) or v is None for v in r.values)]
        numeric = [r for r in numeric if any(_number(v) for v in r.values)]
        judge_scores = any(r.metric == "overall" for r in numeric)
        for breakdown in (False, True):
            part = [r for r in numeric if r.metric.startswith("category/") == breakdown]
            by_kind: dict[str, list[Row]] = {}
            for r in part:
                by_kind.setdefault(metric_kind(r.metric, r.values, judge_scores), []).append(r)
            for kind in KINDS:
                group = by_kind.get(kind, [])
                chunks = [[r] for r in group] if kind == "value" else ([group] if group else [])
                for chunk in chunks:
                    title = f"{task}: by category" if breakdown else task
                    title += f" — {chunk[0].metric}" if kind == "value" else f" — {KINDS[kind][0]}"
                    out.append(
                        Chart(
                            title,
                            kind,
                            [r.metric.split("/", 1)[1] if breakdown else r.metric for r in chunk],
                            [list(r.values) for r in chunk],
                            [list(r.stderrs) for r in chunk],
                        )
                    )
    return out


def render_chart(chart: Chart, labels: list[str]) -> str:
    """A grouped bar chart with error bars, as a PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = len(chart.groups)
    size = (12.0, 4.2) if chart.wide else (6.4, 3.8)
    fig, ax = plt.subplots(figsize=size, dpi=100, layout="constrained")
    width = 0.8 / max(len(labels), 1)
    for i, label in enumerate(labels):
        xs = [g + (i - (len(labels) - 1) / 2) * width for g in range(groups)]
        heights = [v[i] if _number(v[i]) else 0.0 for v in chart.values]
        errors = [e[i] if e and e[i] is not None else 0.0 for e in chart.errors]
        bars = ax.bar(xs, heights, width=width, label=label, yerr=errors if any(errors) else None, capsize=3,
                      error_kw={"elinewidth": 1, "ecolor": "#333"})  # fmt: skip
        ax.bar_label(bars, labels=[_bar_text(v[i], chart.kind) for v in chart.values], fontsize=7, padding=2)
    axis_label, limits = KINDS[chart.kind]
    if limits:
        ax.set_ylim(*limits)
    else:
        ax.set_ylim(0, _top(chart) * 1.18 or 1)
    if chart.kind == "count":
        ax.yaxis.get_major_locator().set_params(integer=True)
    if groups < 3:  # one or two metrics: narrower bars than the whole axis
        ax.set_xlim(-1, groups)
    ax.set_ylabel(axis_label, fontsize=8)
    ax.set_xticks(range(groups))
    ax.set_xticklabels(chart.groups, rotation=20 if groups > 3 else 0, ha="right" if groups > 3 else "center",
                       fontsize=8)  # fmt: skip
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(chart.title, fontsize=10)
    fig.legend(loc="outside lower center", ncol=min(len(labels), 3), fontsize=8, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _bar_text(value: Any, kind: str) -> str:
    if not _number(value):
        return "n/a"
    if kind == "count":
        return f"{value:g}"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"


def _top(chart: Chart) -> float:
    tops = [
        (v or 0.0) + (e or 0.0)
        for vs, es in zip(chart.values, chart.errors, strict=True)
        for v, e in zip(vs, es or [None] * len(vs), strict=True)
        if _number(v)
    ]
    return max([t for t in tops if t > 0] or [0.0])


# -- the page ------------------------------------------------------------------------------------------------
def html_report(runs: list[Run]) -> str:
    labels, extra = _headers(runs)
    figures = "\n".join(
        f'<figure class="chart{" wide" if c.wide else ""}" data-kind="{c.kind}">'
        f'<img alt="{html.escape(c.title)}" src="{render_chart(c, labels)}"></figure>'
        for c in charts(runs)
    )
    head = "".join(f"<th>{_run_header(label, data)}</th>" for label, data in runs)
    head += "".join(f"<th>{html.escape(e)}</th>" for e in extra)
    body = "\n".join(_html_row(row, runs) for row in comparison_rows(runs, details=True))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ru-llm evaluation</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;margin:1.5em;max-width:none}}
.charts{{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,560px),1fr));gap:1em;width:100%}}
figure{{margin:0;border:1px solid #e3e3e3;border-radius:4px;padding:.4em;background:#fff}}
figure.wide{{grid-column:1/-1}}
figure img{{width:100%;height:auto;display:block}}
table{{border-collapse:collapse;width:100%;margin-top:1.5em;font-size:.9em}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right;vertical-align:top}}
td:first-child,td:nth-child(2),th:first-child,th:nth-child(2){{text-align:left}}
th small{{font-weight:normal;color:#555}} td.significant{{background:#e7f6e7;font-weight:600}}
p.note{{color:#444;font-size:.9em}}
</style></head>
<body><h1>Evaluation results</h1>
<p class="note">Columns: {", ".join(html.escape(label) for label in labels)}. Error bars and ± are one standard
error of the mean. {html.escape(SIGNIFICANCE_NOTE)}</p>
<div class="charts">
{figures}
</div>
<table><thead><tr><th>task</th><th>metric</th>{head}</tr></thead><tbody>
{body}
</tbody></table></body></html>
"""


def _run_header(label: str, data: dict[str, Any]) -> str:
    model = data.get("model") or {}
    parts = [html.escape(label)]
    if model.get("path"):
        parts.append(f"<small>model: {html.escape(str(model['path']))}</small>")
    if model.get("adapter"):
        parts.append(f"<small>adapter: {html.escape(str(model['adapter']))}</small>")
    return "<br>".join(parts)


def _html_row(row: Row, runs: list[Run]) -> str:
    cells = [cell(v, s) for v, s in zip(row.values, row.stderrs or [None] * len(runs), strict=True)]
    tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
    if len(runs) == 2:
        tds += f"<td>{html.escape(ratio(row.values))}</td>"
    for test in row.tests or ([None] * (len(runs) - 1)):
        css = ' class="significant"' if test is not None and test.significant else ""
        tds += f"<td{css}>{html.escape(test_cell(test))}</td>"
    return f"<tr><td>{html.escape(row.task)}</td><td>{html.escape(row.metric)}</td>{tds}</tr>"
