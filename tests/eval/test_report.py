"""`ru-llm eval compare`: ± standard errors, paired tests over per-item records matched by id (checked against
scipy), runs named by model and adapter, charts of one kind each, and the HTML page as headless Chromium draws it."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ru_llm.eval.stats import mean_stderr


# -- results files like `eval run` writes ------------------------------------------------------------------------
def _mmlu(correct: list[bool], truncated: float = 120.0) -> dict[str, Any]:
    subjects = ("anatomy", "formal_logic")
    items = [{"id": f"{subjects[i % 2]}/{i // 2}", "subject": subjects[i % 2], "prediction": "A",
              "gold": "A" if ok else "B", "score": float(ok)} for i, ok in enumerate(correct)]  # fmt: skip
    scores = [i["score"] for i in items]
    metrics: dict[str, Any] = {"accuracy": sum(scores) / len(scores), "accuracy_stderr": mean_stderr(scores)}
    metrics["truncated_shots"] = truncated  # a count beside the rate: the chart that hid the accuracy
    for subject in subjects:
        own = [i["score"] for i in items if i["subject"] == subject]
        metrics[f"category/{subject}"] = sum(own) / len(own)
        metrics[f"subject/{subject}"] = sum(own) / len(own)
    return {"metrics": metrics, "counts": {"items": len(items), "scored": len(items), "failed": 0}, "items": items}


def _mt_bench(scores: list[float], judge_failures: int) -> dict[str, Any]:
    from ru_llm.eval.tasks.mt_bench import aggregate

    items = [{"id": f"{80 + i // 2}/turn{i % 2 + 1}", "question_id": 80 + i // 2, "turn": i % 2 + 1,
              "category": ("writing", "math")[i // 2 % 2], "score": s} for i, s in enumerate(scores)]  # fmt: skip
    counts = {"items": len(items), "scored": len(items), "failed": 0}
    return {"metrics": aggregate(items, judge_failures), "counts": counts, "items": items}


def _speed(tokens_per_second: float) -> dict[str, Any]:
    metrics = {"tokens_per_second": tokens_per_second, "seconds": 120 / tokens_per_second, "characters_per_token": 3.1}
    return {"metrics": metrics, "counts": {"items": 4, "scored": 4, "failed": 0}, "items": []}


def _write(path: Path, model: str, adapter: str | None, tasks: dict[str, Any]) -> Path:
    payload = {"model": {"path": model, "adapter": adapter}, "tasks": tasks}
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def _two_runs(tmp_path: Path) -> tuple[Path, Path]:
    rng = random.Random(7)
    base = [rng.random() < 0.3 for _ in range(200)]
    better = [ok or rng.random() < 0.25 for ok in base]  # right wherever base is, and on ~50 more: significant
    writing = [rng.choice([6.0, 7.0, 8.0]) for _ in range(40)]
    noisy = [min(10.0, max(1.0, s + rng.choice([-1.0, 0.0, 1.0]))) for s in writing]  # no real change
    a = _write(
        tmp_path / "a.json",
        "/models/Qwen2.5-7B-Instruct",
        None,
        {"mmlu": _mmlu(base), "mt_bench_ru": _mt_bench(writing, 2), "generation_speed": _speed(30.0)},
    )
    b = _write(tmp_path / "b.json", "/models/Qwen2.5-7B-Instruct", "/runs/lora-ru",
               {"mmlu": _mmlu(better), "mt_bench_ru": _mt_bench(noisy, 1),
                "generation_speed": _speed(45.0)})  # fmt: skip
    return a, b


@pytest.fixture
def cli(cli):  # type: ignore[no-untyped-def]
    """The shared ``cli``, 250 columns wide: the comparison tables are wider than the usual 200."""
    return lambda *args: cli(*args, env={"COLUMNS": "250"})


# -- the tests ------------------------------------------------------------------------------------------------
def test_mcnemar_and_the_paired_bootstrap_agree_with_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    from ru_llm.eval.significance import mcnemar_exact, paired_bootstrap, paired_test

    for b, c in ((0, 0), (5, 0), (12, 3), (40, 25), (300, 340), (1, 1)):
        expected = stats.binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
        assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9)
    rng = random.Random(3)
    first = [rng.gauss(6.0, 1.5) for _ in range(300)]
    for shift, significant in ((0.0, False), (0.35, True)):
        second = [x + shift + rng.gauss(0.0, 1.0) for x in first]
        p = paired_bootstrap(first, second)
        reference = stats.ttest_rel(second, first).pvalue  # the bootstrap approximates the paired t-test here
        assert abs(p - reference) < 0.03 and (p < 0.05) is significant
    assert paired_bootstrap([5.0, 6.0], [5.0, 6.0]) == 1.0  # no difference at all
    test = paired_test([1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0])
    assert (test.test, test.n, test.difference, test.p) == ("McNemar", 4, 0.5, 0.5)
    assert paired_test([7.0, 8.0, 6.0], [8.0, 8.0, 7.0]).test == "paired bootstrap"


def test_compare_shows_standard_errors_and_marks_significant_differences(cli, tmp_path: Path) -> None:
    a, b = _two_runs(tmp_path)
    md = tmp_path / "r.md"
    result = cli("eval", "compare", a, b, "--markdown", md)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Qwen2.5-7B-Instruct + lora-ru" in out and "paired test" in out  # named by model and adapter
    row = next(line for line in out.splitlines() if " accuracy " in line)
    assert re.search(r"0\.\d{4} ± 0\.0\d{3}", row) and " significant (p<0.001, McNemar, n=200)" in row
    overall = next(line for line in out.splitlines() if " overall " in line)
    assert "not significant" in overall and "paired bootstrap, n=40" in overall
    turn1 = next(line for line in out.splitlines() if " turn1 " in line)
    assert "n=20" in turn1  # turn 1's items only
    speed = next(line for line in out.splitlines() if "tokens_per_second" in line)
    assert "1.500" in speed and speed.rstrip(" │").endswith("—")  # no items: a ratio, no test
    text = md.read_text(encoding="utf-8")
    assert "| mt_bench_ru | turn2 |" in text and " ± " in text and "McNemar's exact test" in text
    assert "- **Qwen2.5-7B-Instruct + lora-ru**: /models/Qwen2.5-7B-Instruct + adapter /runs/lora-ru" in text


def test_a_test_is_attached_only_where_the_items_make_up_the_metric(tmp_path: Path) -> None:
    from ru_llm.eval.report import comparison_rows, load_results

    a, b = _two_runs(tmp_path)
    rows = {(r.task, r.metric): r for r in comparison_rows(load_results([a, b]), details=True)}
    assert rows[("mmlu", "accuracy")].tests[0].n == 200
    assert rows[("mmlu", "subject/anatomy")].tests[0].n == 100  # the subject's items
    assert rows[("mmlu", "truncated_shots")].tests == [None]  # not a mean of the item scores
    assert rows[("mt_bench_ru", "category/math")].tests[0].n == 20
    assert rows[("mt_bench_ru", "judge_failures")].tests == [None]

    data = json.loads(b.read_text(encoding="utf-8"))
    data["tasks"]["mmlu"]["items"] = data["tasks"]["mmlu"]["items"][:150]  # matched by id: 150 shared items
    data["tasks"]["mmlu"]["metrics"]["accuracy"] = sum(i["score"] for i in data["tasks"]["mmlu"]["items"]) / 150
    b.write_text(json.dumps(data), encoding="utf-8")
    rows = {(r.task, r.metric): r for r in comparison_rows(load_results([a, b]), details=True)}
    assert rows[("mmlu", "accuracy")].tests[0].n == 150
    assert rows[("mmlu", "subject/anatomy")].tests == [None]  # its value is no longer the mean of the items left


def test_runs_are_named_by_model_and_adapter(tmp_path: Path) -> None:
    from ru_llm.eval.report import load_results

    (tmp_path / "x").mkdir()
    one = _write(tmp_path / "one.json", "/m/qwen", None, {})
    two = _write(tmp_path / "two.json", "/m/qwen", None, {})
    lora = _write(tmp_path / "x" / "one.json", "Qwen/Qwen2.5-7B", "out/lora/", {})
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"tasks": {}}), encoding="utf-8")
    labels = [label for label, _ in load_results([one, two, lora, bare])]
    assert labels == ["qwen (one)", "qwen (two)", "Qwen2.5-7B + lora", "bare"]


def test_charts_hold_one_kind_of_metric_each(tmp_path: Path) -> None:
    from ru_llm.eval.report import charts, load_results, metric_kind

    kinds = {(c.title.split(" — ")[0], c.kind): c.groups for c in charts(load_results(list(_two_runs(tmp_path))))}
    assert kinds[("mmlu", "rate")] == ["accuracy"]
    assert kinds[("mmlu", "count")] == ["truncated_shots"]  # never on the accuracy's axis
    assert kinds[("mmlu: by category", "rate")] == ["anatomy", "formal_logic"]
    assert kinds[("mt_bench_ru", "score")] == ["turn1", "turn2", "overall"]
    assert kinds[("mt_bench_ru", "count")] == ["judge_failures"]
    assert kinds[("generation_speed", "speed")] == ["tokens_per_second"]
    assert kinds[("generation_speed", "time")] == ["seconds"]
    assert kinds[("generation_speed", "value")] == ["characters_per_token"]  # a scale of its own
    assert not any("subject" in g for groups in kinds.values() for g in groups)
    assert metric_kind("judge_failures", [0, 1]) == "count" and metric_kind("win_rate", [0.4, 0.7]) == "rate"
    assert metric_kind("hit_token_limit", [1.0]) == "count" and metric_kind("length_ratio", [1.02]) == "value"


# -- the page in a real browser --------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH = 1280
# matplotlib's first two colours: the two runs' bars
RUN_COLOURS = ((0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E))
LAYOUT_PROBE = """<script>
addEventListener("load", () => {
  const figures = [...document.querySelectorAll("figure.chart")].map(f => {
    const img = f.querySelector("img"), r = img.getBoundingClientRect();
    return {kind: f.dataset.kind, title: img.alt, x: r.left, y: r.top + scrollY, w: r.width, h: r.height,
            natural: img.naturalWidth, complete: img.complete};
  });
  const pre = document.createElement("pre");
  pre.id = "layout";
  pre.textContent = JSON.stringify({body: document.body.getBoundingClientRect().width, figures});
  document.body.append(pre);
});
</script></body>"""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--force-device-scale-factor=1", "--hide-scrollbars", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_html_report_shows_every_chart_in_headless_chromium(cli, tmp_path: Path) -> None:
    from PIL import Image

    a, b = _two_runs(tmp_path)
    page = tmp_path / "report.html"
    result = cli("eval", "compare", a, b, "--html", page)
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and not re.search(r"""(src|href)=["'](https?:)?//""", text)  # nothing fetched
    assert "model: /models/Qwen2.5-7B-Instruct" in text and "adapter: /runs/lora-ru" in text
    assert "<th>Qwen2.5-7B-Instruct + lora-ru / Qwen2.5-7B-Instruct</th>" in text  # the ratio column

    # 1. the layout, as the browser computed it (the page plus a probe that reports each chart's box)
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", LAYOUT_PROBE), encoding="utf-8")
    dom = _chromium(tmp_path, "--virtual-time-budget=10000", f"--window-size={WIDTH},1200", "--dump-dom",
                    probe.as_uri()).stdout  # fmt: skip
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    layout = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    figures = layout["figures"]
    assert len(figures) == 9 and all(f["complete"] and f["natural"] >= 600 for f in figures)  # decoded PNGs
    assert all(f["h"] >= 250 and f["w"] >= 0.45 * layout["body"] for f in figures)  # readable sizes
    rows: dict[float, float] = {}
    for f in figures:
        rows[f["y"]] = rows.get(f["y"], 0.0) + f["w"]
    assert min(rows.values()) >= 0.45 * layout["body"] and max(rows.values()) >= 0.95 * layout["body"] - 20
    assert layout["body"] >= WIDTH - 100  # the page uses the window's width

    # 2. the pixels: every chart drawn, with both runs' bars visible, the accuracy's included
    height = int(max(f["y"] + f["h"] for f in figures)) + 40
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--window-size={WIDTH},{height}", f"--screenshot={shot}", page.as_uri())
    image = Image.open(shot).convert("RGB")
    assert image.size == (WIDTH, height)
    for f in figures:
        box = (int(f["x"]), int(f["y"]), int(f["x"] + f["w"]), int(f["y"] + f["h"]))
        colours = image.crop(box).getcolors(box[2] * box[3])  # (count, (r, g, b)) for every colour there
        area = sum(n for n, _ in colours)
        not_white = sum(n for n, p in colours if min(p) < 235) / area
        bars = [sum(n for n, p in colours if all(abs(p[k] - c[k]) <= 12 for k in range(3))) for c in RUN_COLOURS]
        assert not_white > 0.03, f["title"]
        assert min(bars) >= 0.005 * area, (f["title"], bars, area)  # both runs' bars can be seen
    rate = next(f for f in figures if f["title"] == "mmlu — rate (0-1)")
    assert rate["kind"] == "rate"


def test_a_run_without_the_metric_still_gets_its_chart() -> None:
    import base64
    import io

    from PIL import Image

    from ru_llm.eval.report import Chart, render_chart

    chart = Chart("t — rate (0-1)", "rate", ["accuracy"], [[0.5, None]], [[0.01, None]])
    uri = render_chart(chart, ["a", "b"])
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert uri.startswith("data:image/png;base64,") and image.size == (640, 380)
