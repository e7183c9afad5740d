"""Benchmark: the translation engine against a naive loop, on the same tiny model and paragraphs.

* ``naive``: one ``generate`` per paragraph, batch size 1 (how a one-off script does it);
* ``engine``: ru-llm's engine: dedup, length-sorted batches by token budget, SQLite cache;
* ``engine_cached``: the same engine run again over a warm cache;
* ``ct2``: the engine with the CTranslate2 backend on the converted model (when ctranslate2 is installed).

The model is a tiny random Marian model laid out like opus-mt-en-ru (its output is gibberish; the work is
real). Retries are off so both ways do one decoding pass per paragraph. Prints JSON with segments/s and ratios.
Targets on this 2-core CPU: engine >= 5x naive; cached rerun >= 50x faster than the first run.

    uv run python bench/translate_throughput.py [--paragraphs 500] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def dolly_like_paragraphs(n: int) -> list[str]:
    """Instruction/response paragraphs from the self-instruct seed tasks (real English), repeated to ``n``."""
    rows = [json.loads(line) for line in (REPO / "tests/data/instructions/en/self_instruct_seed_tasks.jsonl").open()]
    paragraphs: list[str] = []
    for row in rows:
        paragraphs.append(row["instruction"])
        for instance in row["instances"]:
            paragraphs.extend(p for p in instance["output"].split("\n") if len(p.split()) >= 3)
    return [paragraphs[i % len(paragraphs)] for i in range(n)]


def naive(model_dir: Path, paragraphs: list[str], device: str) -> float:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from ru_llm.translate.backends import Decoding

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).to(device).eval()
    decoding = Decoding()
    start = time.perf_counter()
    with torch.inference_mode():
        for text in paragraphs:
            limit = model.config.max_position_embeddings
            batch = tokenizer([text], return_tensors="pt", truncation=True, max_length=limit).to(device)
            # The same output budget as the backend: from the input length, within the model's positions.
            budget = decoding.max_new_tokens(batch["input_ids"].shape[1], cap=limit - 1)
            out = model.generate(**batch, max_new_tokens=budget, do_sample=False)
            tokenizer.batch_decode(out, skip_special_tokens=True)
    return time.perf_counter() - start


def engine_run(backend: str, model_dir: Path, paragraphs: list[str], cache: Path, device: str) -> tuple[float, dict]:
    from ru_llm.core import conversation
    from ru_llm.translate.cache import TranslationCache
    from ru_llm.translate.engine import EngineConfig, TranslationEngine
    from ru_llm.translate.registry import get_translator

    loaded = get_translator(backend).load(str(model_dir), device=device)
    config = EngineConfig(retry=None)
    settings = {"backend": backend, "model": loaded.model_id, **config.settings()}
    engine = TranslationEngine(loaded, TranslationCache(cache, settings), config, backend_name=backend)
    convs = [conversation(f"p{i}", [("user", text), ("assistant", "ok")]) for i, text in enumerate(paragraphs)]
    start = time.perf_counter()
    list(engine.run(convs, on_reject=lambda reject: None))
    seconds = time.perf_counter() - start
    loaded.close()
    return seconds, engine.stats.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=500)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from kit.tiny_opus_mt import build_tiny_opus_mt

    import ru_llm.cli  # noqa: F401  (announces every package, as the command line does)

    paragraphs = dolly_like_paragraphs(args.paragraphs)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_opus_mt(Path(tmp) / "marian")
        report: dict = {"benchmark": "translate_throughput", "paragraphs": len(paragraphs),
                        "unique_paragraphs": len(set(paragraphs)), "device": args.device}  # fmt: skip
        report["naive_seconds"] = naive(model_dir, paragraphs, args.device)
        first, stats = engine_run("marian", model_dir, paragraphs, Path(tmp) / "cache.sqlite", args.device)
        cached, _ = engine_run("marian", model_dir, paragraphs, Path(tmp) / "cache.sqlite", args.device)
        report.update(engine_seconds=first, engine_cached_seconds=cached, engine_stats=stats)
        report["engine_vs_naive"] = round(report["naive_seconds"] / first, 2)
        report["cached_vs_first_run"] = round(first / cached, 1)
        report["segments_per_s"] = {"naive": round(len(paragraphs) / report["naive_seconds"], 1),
                                    "engine": round(len(paragraphs) / first, 1)}  # fmt: skip
        try:
            import ctranslate2  # noqa: F401
        except ImportError:
            report["ct2"] = "not installed: uv pip install 'ru-llm-translate[ct2]'"
        else:
            ct2, _ = engine_run("ct2", model_dir, paragraphs, Path(tmp) / "ct2.sqlite", args.device)
            report["ct2_seconds"] = ct2
            report["ct2_vs_hf_engine"] = round(first / ct2, 2)
            report["segments_per_s"]["ct2"] = round(len(paragraphs) / ct2, 1)
        report["targets"] = {"engine_vs_naive": 5, "cached_vs_first_run": 50}
        report["meets_targets"] = report["engine_vs_naive"] >= 5 and report["cached_vs_first_run"] >= 50
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
