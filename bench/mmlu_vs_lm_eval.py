"""Benchmark: ru-llm's MMLU against lm-evaluation-harness's on the same model, questions and settings.

Both tools score the bundled MMLU subjects (tests/data/mmlu: anatomy, marketing, world_religions,
40 questions each; or ``--data DIR --subjects a,b`` with ``DIR/{dev,test}/{subject}_{split}.csv`` in the
``question,choice0..3,answer`` layout, e.g. the original files with rows that span lines) on the same
random model, on the CPU, with the same shots, batch size and BOS handling (each tool's default: as
the tokenizer does):

* ``lm_eval``: ``lm_eval.simple_evaluate`` with an ``HFLM`` on the model directory and one task YAML per
  subject (lm-eval's own ``mmlu`` template on the local CSVs, ``ru_llm.eval.lm_eval_bridge.mmlu_task_yamls``);
* ``ours``: ``ru_llm.eval.run.evaluate`` with the ``mmlu`` task (a fresh results file each time, so its
  per-item cache does not help), with the shared few-shot prefix run once per subject (the default);
* ``ours_no_prefix_cache``: the same with ``prefix_cache=False`` (``--no-prefix-cache``): every prompt whole.

Each is timed end to end from the model directory and the CSVs to per-question answers (model load,
data, prompts, forward passes, scoring), in this process after the imports, each going first in turn
over ``--repeats``; the fastest run of each counts. Reported (for ``ours``, the headline):
``prompts_identical`` (questions whose prompt is the same text in both, character for character),
``agreement`` (the share of questions where both pick the same letter; the target is 1.0) and
``agreement_where_margin_over_1e-3`` (only questions where lm-eval's best letter leads its second by
more than 1e-3, so float noise cannot flip them), the largest difference of a letter's log-likelihood,
both accuracies and times, and ``ours_vs_lm_eval_time_ratio`` (ours / lm-eval's; the target is <= 0.33,
at least 3x faster); the same agreement, difference and ratio without the prefix cache
(``no_prefix_cache``), the largest difference between our cached and uncached log-likelihoods
(``max_abs_logprob_diff_cached_vs_whole``, target <= 1e-4) and what the cache did (``prefix_cache``:
prefixes, cached questions, fallbacks). Prints one JSON object, as the last line.

Models (random weights, built here):

* ``small`` (default, the headline): hidden 256, 4 layers, 2048-token context with the tiny model's
  tokenizer, 5 shots as the real MMLU;
* ``tiny``: ``build_tiny_model`` from tests/kit (hidden 16, 2 layers, 256-token context), so ``--shots``
  defaults to 1 to fit.

``--context N`` gives either model an N-token context (RoPE: the same weights), for long 5-shot prompts.

``--family llama`` (the real LLaMA-2 tokenizer, which adds a BOS) or ``qwen2`` (Qwen2.5's 151k vocabulary,
no BOS).

    uv run python bench/mmlu_vs_lm_eval.py [--model small|tiny] [--family llama|qwen2] [--shots N] [--repeats 2]
        [--data DIR --subjects a,b] [--limit N] [--context N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

DATA = REPO / "tests" / "data" / "mmlu"
SUBJECTS = ["anatomy", "marketing", "world_religions"]
SMALL = {"hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 4, "num_attention_heads": 4}


def build_model(kind: str, family: str, out: Path, context: int | None) -> Path:
    import json

    from kit.tiny_models import build_tiny_model

    build_tiny_model(family, out)
    if kind == "small":  # the tiny model's tokenizer, a bigger body and a 2048-token context
        import torch
        import transformers

        config = transformers.AutoConfig.from_pretrained(out)
        for key, value in {**SMALL, "num_key_value_heads": 4, "max_position_embeddings": 2048}.items():
            setattr(config, key, value)
        torch.manual_seed(0)
        model = transformers.AutoModelForCausalLM.from_config(config)
        for leftover in out.glob("*.safetensors"):
            leftover.unlink()
        model.save_pretrained(out)
    if context:
        config = json.loads((out / "config.json").read_text(encoding="utf-8"))
        config["max_position_embeddings"] = context
        (out / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return out


def mmlu_settings(data: Path, subjects: list[str], shots: int, limit: int | None):  # type: ignore[no-untyped-def]
    from ru_llm.eval.task import TaskSettings

    return TaskSettings(data=str(data), subjects=tuple(subjects), shots=shots, limit=limit)


def run_ours(model_dir: Path, settings, batch_size: int, out: Path, prefix_cache: bool) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """Our answer per question id, and what the prefix cache did."""
    from ru_llm.eval.models.hf import ModelSettings
    from ru_llm.eval.run import evaluate
    from ru_llm.eval.tasks.mmlu import MMLU

    model = ModelSettings(str(model_dir), device="cpu", dtype="fp32", batch_size=batch_size, prefix_cache=prefix_cache)
    entry = evaluate([("mmlu", MMLU)], model, settings, out)["tasks"]["mmlu"]
    return {item["id"]: item for item in entry["items"]}, entry.get("prefix_cache", {})


def our_prompts(model_dir: Path, settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The prompt ru-llm scores each question after (the task's own request, fitted to the model's context)."""
    from ru_llm.eval.models.hf import HFEvalModel, ModelSettings
    from ru_llm.eval.tasks.mmlu import MMLU

    model = HFEvalModel(ModelSettings(str(model_dir), device="cpu", dtype="fp32"))
    return {item.id: MMLU.request(item, settings, model.fits).context for item in MMLU.load(settings).items}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["small", "tiny"], default="small")
    parser.add_argument("--family", choices=["llama", "qwen2"], default="llama")
    parser.add_argument("--shots", type=int, default=None, help="default: 1 on tiny (256 tokens), 5 on small")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA, help="MMLU CSVs: DIR/{dev,test}/{subject}_{split}.csv")
    parser.add_argument("--subjects", default=",".join(SUBJECTS))
    parser.add_argument("--limit", type=int, default=None, help="the first N questions of each subject")
    parser.add_argument("--context", type=int, default=None, help="the model's context in tokens")
    args = parser.parse_args()
    shots = args.shots if args.shots is not None else (1 if args.model == "tiny" else 5)
    subjects = [s.strip() for s in args.subjects.split(",") if s.strip()]
    settings = mmlu_settings(args.data, subjects, shots, args.limit)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

    import lm_eval  # noqa: F401  (imports outside the timings)
    import torch

    from ru_llm.eval.lm_eval_bridge import mmlu_task_yamls
    from ru_llm.eval.run import evaluate  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = build_model(args.model, args.family, work / "model", args.context)
        names = mmlu_task_yamls(args.data, subjects, work / "tasks")
        from kit.lm_eval_mmlu import lm_eval_mmlu  # tests/ is on sys.path (above)

        ways = ["lm_eval", "ours", "ours_no_prefix_cache"]
        times: dict[str, list[float]] = {way: [] for way in ways}
        theirs: dict = {}
        answers: dict[str, dict] = {}
        cache_report: dict = {}
        for repeat in range(args.repeats):
            for way in ways[repeat % 3 :] + ways[: repeat % 3]:  # each goes first in turn
                start = time.perf_counter()
                if way == "lm_eval":
                    theirs = lm_eval_mmlu(
                        model_dir, work / "tasks", names, shots, batch_size=args.batch_size, limit=args.limit
                    )
                else:
                    out = work / f"{way}-{repeat}.json"
                    answers[way], found = run_ours(model_dir, settings, args.batch_size, out, way == "ours")
                    cache_report = found if way == "ours" else cache_report
                times[way].append(time.perf_counter() - start)
        ours, whole = answers["ours"], answers["ours_no_prefix_cache"]
        prompts = our_prompts(model_dir, settings)

    ids = list(ours)
    letters = {k: "ABCD"[max(range(4), key=lambda i: a.logprobs[i])] for k, a in theirs.items()}
    agreeing = sum(letters.get(k) == ours[k]["prediction"] for k in ids)
    clear = [k for k in ids if k in theirs and _margin(theirs[k].logprobs) > 1e-3]
    diff = _largest_diff(ours, {k: a.logprobs for k, a in theirs.items()})
    lm_eval_s, ours_s, whole_s = (min(times[way]) for way in ways)
    report = {
        "benchmark": "mmlu_vs_lm_eval",
        "model": args.model,
        "family": args.family,
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "data": str(args.data),
        "subjects": subjects,
        "questions": len(ids),
        "prompts_identical": sum(prompts.get(k) == a.prompt for k, a in theirs.items()),
        "questions_with_line_breaks_in_fields": sum(
            a.prompt.count("\n") > 2 + 7 * shots + 5 for a in theirs.values()
        ),  # more than the header's, each shot's and the question's own
        "agreement_where_margin_over_1e-3": round(
            sum(letters[k] == ours[k]["prediction"] for k in clear) / len(clear), 4
        )
        if clear
        else None,
        "questions_with_margin_over_1e-3": len(clear),
        "shots": shots,
        "batch_size": args.batch_size,
        "lm_eval_version": _version("lm-eval"),
        "agreement": round(agreeing / len(ids), 4),
        "agreeing": agreeing,
        "questions_only_one_side_has": len(set(ids) ^ set(theirs)),
        "ours_questions_with_fewer_shots": sum(i["shots"] < shots for i in ours.values()),  # 0: no prompt cut
        "max_abs_logprob_diff": float(f"{diff:.3g}"),
        "accuracy": {
            "ours": round(sum(i["score"] for i in ours.values()) / len(ids), 4),
            "lm_eval": round(sum(letters[k] == "ABCD"[a.gold] for k, a in theirs.items()) / len(theirs), 4),
        },
        "ours_seconds": round(ours_s, 2),
        "lm_eval_seconds": round(lm_eval_s, 2),
        "all_seconds": {way: [round(t, 2) for t in ts] for way, ts in times.items()},
        "ours_vs_lm_eval_time_ratio": round(ours_s / lm_eval_s, 3),
        "prefix_cache": cache_report,
        "max_abs_logprob_diff_cached_vs_whole": float(
            f"{_largest_diff(ours, {k: w['logprobs'] for k, w in whole.items()}):.3g}"
        ),
        "no_prefix_cache": {
            "agreement": round(sum(letters.get(k) == whole[k]["prediction"] for k in ids) / len(ids), 4),
            "max_abs_logprob_diff": float(f"{_largest_diff(whole, {k: a.logprobs for k, a in theirs.items()}):.3g}"),
            "ours_seconds": round(whole_s, 2),
            "ours_vs_lm_eval_time_ratio": round(whole_s / lm_eval_s, 3),
        },
        "targets": {"agreement": 1.0, "ours_vs_lm_eval_time_ratio": 0.33, "max_abs_logprob_diff_cached_vs_whole": 1e-4},
    }
    report["meets_targets"] = (
        report["agreement"] == 1.0
        and report["prompts_identical"] == len(ids)
        and report["ours_vs_lm_eval_time_ratio"] <= 0.33
        and report["max_abs_logprob_diff_cached_vs_whole"] <= 1e-4
    )
    print(json.dumps(report))


def _largest_diff(ours: dict, other: dict[str, list[float]]) -> float:
    """The largest difference of a letter's log-likelihood between our answers and ``other``'s."""
    return max(abs(a - b) for k, item in ours.items() for a, b in zip(item["logprobs"], other[k], strict=True))


def _margin(logprobs: list[float]) -> float:
    best, second = sorted(logprobs, reverse=True)[:2]
    return best - second


def _version(dist: str) -> str | None:
    import importlib.metadata as md

    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
