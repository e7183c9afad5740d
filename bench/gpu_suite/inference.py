"""Inference figures: MMLU 5-shot questions/s through our eval, and translation tokens/s through our engine
with the HF and CTranslate2 backends on a scaled-down WMT21 (M2M100) model."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from gpu_suite.models import REPO, build_m2m100

if TYPE_CHECKING:
    from gpu_suite.run import Suite

MMLU_DATA = REPO / "tests" / "data" / "mmlu"
MMLU_SUBJECTS = ("anatomy", "marketing", "world_religions")


def mmlu(suite: Suite) -> None:
    """``ru-llm eval run mmlu`` (the library call) on the 0.5B model, 5 shots, loaded once beforehand; a
    short untimed run first warms the kernels up."""
    from ru_llm.eval.models.hf import HFEvalModel, ModelSettings
    from ru_llm.eval.run import evaluate
    from ru_llm.eval.task import TaskSettings
    from ru_llm.eval.tasks.mmlu import MMLU

    model_dir, shape = suite.llama("0.5b")
    settings = ModelSettings(str(model_dir), device=suite.device, dtype="bf16" if suite.cuda else "fp32")
    model = HFEvalModel(settings)
    task = TaskSettings(data=str(MMLU_DATA), subjects=MMLU_SUBJECTS, shots=5, limit=suite.mmlu_limit)
    warm = TaskSettings(data=str(MMLU_DATA), subjects=MMLU_SUBJECTS[:1], shots=5, limit=2)
    evaluate([("mmlu", MMLU)], settings, warm, suite.work / "mmlu-warm.json", model=model)
    start = time.perf_counter()
    entry = evaluate([("mmlu", MMLU)], settings, task, suite.work / "mmlu.json", model=model)["tasks"]["mmlu"]
    seconds = time.perf_counter() - start
    questions = entry["counts"]["scored"]
    suite.report.emit(
        "mmlu_5shot_questions_per_s", round(questions / seconds, 2), questions=questions,
        seconds=round(seconds, 3), accuracy=entry["metrics"].get("accuracy"), subjects=list(MMLU_SUBJECTS),
        model_parameters=shape["parameters"], device=suite.device, dtype=str(settings.dtype),
    )  # fmt: skip


def _engine_tokens_per_s(suite: Suite, backend: str, model_dir: Any, paragraphs: list[str], **options: Any) -> dict:
    """Our engine with ``backend`` over ``paragraphs`` (retries off, a fresh cache): tokens of the
    translations per second, counted with the model's tokenizer after the clock stops."""
    from ru_llm.core import conversation
    from ru_llm.translate.cache import TranslationCache
    from ru_llm.translate.engine import EngineConfig, TranslationEngine
    from ru_llm.translate.registry import get_translator

    loaded = get_translator(backend).load(str(model_dir), device=suite.device, **options)
    outputs: list[str] = []
    translate = loaded.translate

    def keeping(texts: Any, decoding: Any) -> Any:
        done = translate(texts, decoding)
        outputs.extend(t.text for t in done)
        return done

    loaded.translate = keeping  # type: ignore[method-assign]
    config = EngineConfig(retry=None)
    settings = {"backend": backend, "model": loaded.model_id, **config.settings()}
    timings = []
    for run, texts in (("warm", paragraphs[:2]), ("timed", paragraphs)):
        cache = TranslationCache(suite.work / f"translate-{backend}-{run}.sqlite", settings)
        engine = TranslationEngine(loaded, cache, config, backend_name=backend)
        convs = [conversation(f"{run}{i}", [("user", text), ("assistant", "ok")]) for i, text in enumerate(texts)]
        outputs.clear()
        start = time.perf_counter()
        list(engine.run(convs, on_reject=lambda reject: None))
        timings.append(time.perf_counter() - start)
    tokens = sum(loaded.count_tokens(outputs))
    segments = len(outputs)
    loaded.close()
    return {"value": round(tokens / timings[-1], 1), "tokens": tokens, "segments": segments,
            "seconds": round(timings[-1], 3)}  # fmt: skip


def translation(suite: Suite) -> None:
    """HF generate and CTranslate2 (converted here, locally) through the same engine and paragraphs."""
    import importlib.util

    from translate_throughput import dolly_like_paragraphs

    model_dir = suite.work / "m2m100"
    if not model_dir.exists():
        build_m2m100(suite.m2m100_size, model_dir)
    paragraphs = dolly_like_paragraphs(suite.paragraphs)
    if suite.smoke:  # a random model writes until its budget (twice the input): short inputs keep it seconds
        paragraphs = [" ".join(p.split()[:6]) for p in paragraphs]
    context = {"model": f"M2M100 {suite.m2m100_size} (random weights)", "paragraphs": len(paragraphs)}
    dtype = "bfloat16" if suite.cuda else "float32"
    hf = _engine_tokens_per_s(suite, "m2m100", model_dir, paragraphs, dtype=dtype)
    suite.report.emit("translate_hf_tokens_per_s", hf.pop("value"), **context, **hf, dtype=dtype)
    if importlib.util.find_spec("ctranslate2") is None:
        suite.report.skip(
            "translate_ct2_tokens_per_s", 'ctranslate2 is not installed: pip install "ru-llm-translate[ct2]"'
        )
        return
    compute = "bfloat16" if suite.cuda else "default"
    ct2 = _engine_tokens_per_s(
        suite, "ct2", model_dir, paragraphs, compute_type=compute, cache_dir=str(suite.work / "ct2-cache")
    )
    suite.report.emit("translate_ct2_tokens_per_s", ct2.pop("value"), **context, **ct2, compute_type=compute)
