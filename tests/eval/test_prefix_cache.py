"""The shared few-shot prefix runs once: the same log-likelihoods as scoring every prompt whole.

Tiny random models (LLaMA's and Qwen2.5's real tokenizers), with and without a LoRA adapter, with the
BOS as the tokenizer adds it, forced on and forced off: every letter's log-likelihood must be within
1e-4 of the uncached path, fewer tokens must go through the model, and the prompts whose tokens do not
begin with their prefix's (a token spanning the boundary) must be scored whole and counted.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ru_llm.eval.models.hf import HFEvalModel, ModelSettings
from ru_llm.eval.models.prefix_cache import BOUNDARY, UNSHARED, PrefixStats, ScoreRow, plan
from ru_llm.eval.run import evaluate
from ru_llm.eval.task import ChoiceRequest, TaskSettings
from ru_llm.eval.tasks.mmlu import MMLU

MMLU_DATA = Path(__file__).resolve().parent.parent / "data" / "mmlu"
TOLERANCE = 1e-4


def _requests(model: HFEvalModel, shots: int = 1, limit: int = 4) -> list[ChoiceRequest]:
    settings = TaskSettings(data=str(MMLU_DATA), shots=shots, limit=limit)
    return [MMLU.request(item, settings, model.fits) for item in MMLU.load(settings).items]


def _both_ways(model: HFEvalModel, requests: list[ChoiceRequest]) -> tuple[list, list, dict, dict]:
    """``(cached values, whole values, cached stats, tokens fed each way)``."""
    fed = {"n": 0}
    embeddings = model.model.get_input_embeddings()
    hook = embeddings.register_forward_pre_hook(lambda module, args: fed.__setitem__("n", fed["n"] + args[0].numel()))
    try:
        model.settings.prefix_cache = True
        model.prefix_stats = type(model.prefix_stats)(used=True)
        cached = model.loglikelihood(requests, lambda n: None)
        tokens = {"cached": fed["n"]}
        stats = model.prefix_stats.as_dict()
        fed["n"] = 0
        model.settings.prefix_cache = False
        whole = model.loglikelihood(requests, lambda n: None)
        tokens["whole"] = fed["n"]
    finally:
        hook.remove()
    return cached, whole, stats, tokens


def _max_diff(a: list[list[float]], b: list[list[float]]) -> float:
    return max(abs(x - y) for u, v in zip(a, b, strict=True) for x, y in zip(u, v, strict=True))


@pytest.fixture(scope="module")
def adapters(tiny_model, tmp_path_factory):  # type: ignore[no-untyped-def]
    """``adapters(family)``: a LoRA adapter with random (non-zero) weights on the tiny model."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    built: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in built:
            import torch

            torch.manual_seed(1)
            base = AutoModelForCausalLM.from_pretrained(tiny_model(family))
            lora = LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
            out = tmp_path_factory.mktemp(f"adapter-{family}")
            get_peft_model(base, lora).save_pretrained(out)
            built[family] = out
        return built[family]

    return get


@pytest.fixture(scope="module")
def loaded(tiny_model, adapters):  # type: ignore[no-untyped-def]
    """``loaded(family, with_adapter, **settings)``: this module's one ``HFEvalModel`` per family and adapter
    (fp32 on the CPU), its settings replaced by ``settings`` over the defaults and its prefix counts reset.

    Loading is what costs (Qwen's 151k-piece tokenizer: about a CPU-second each time); what the tests vary
    (``add_bos``, ``batch_size``, ``chat_template``, ``prefix_cache``) is read from ``model.settings`` at
    every call, so a model given other settings answers exactly as one loaded with them."""
    models: dict[tuple[str, bool], HFEvalModel] = {}

    def get(family: str, with_adapter: bool = False, **settings: object) -> HFEvalModel:
        if (family, with_adapter) not in models:
            adapter = str(adapters(family)) if with_adapter else None
            defaults = ModelSettings(str(tiny_model(family)), adapter=adapter, device="cpu", dtype="fp32")
            models[family, with_adapter] = HFEvalModel(defaults)
        model = models[family, with_adapter]
        defaults = ModelSettings(model.settings.model, adapter=model.settings.adapter, device="cpu", dtype="fp32")
        model.settings = dataclasses.replace(defaults, **settings)  # type: ignore[arg-type]
        model.prefix_stats = PrefixStats(used=model.settings.prefix_cache)
        return model

    return get


# -- which prompts use which prefix (no model) ----------------------------------------------------
def test_a_prompt_uses_the_cache_only_where_its_tokens_begin_with_the_prefix_and_another_shares_it() -> None:
    shared = (1, 5, 6, 7)
    rows = [
        ScoreRow([1, 5, 6, 7, 9, 9], [(5, 3)], 0, shared),
        ScoreRow([1, 5, 6, 7, 8], [(4, 3)], 1, shared),
        ScoreRow([1, 5, 6, 70, 8], [(4, 3)], 2, shared),  # the prefix's last token merged with the next
        ScoreRow([1, 5, 2, 8, 9], [(4, 3)], 3, (1, 5, 2, 8)),  # fewer shots: a prefix no one else has
        ScoreRow([4, 4, 4], [(2, 3)], 4, None),  # names no prefix: whole, not a fallback
    ]
    groups, whole, stats = plan(rows, enabled=True)
    assert groups == {(1, 5, 6): [0, 1]}  # the prefix less its last token: every user has a token to run
    assert whole == [2, 3, 4]
    assert stats.as_dict() == {
        "used": True,
        "requests": 5,
        "prefixes": 1,
        "cached_requests": 2,
        "fallbacks": 2,
        "fallback_reasons": {BOUNDARY: 1, UNSHARED: 1},
    }
    groups, whole, stats = plan(rows, enabled=False)
    assert groups == {} and whole == [0, 1, 2, 3, 4]
    assert stats.as_dict()["used"] is False and stats.as_dict()["fallbacks"] == 0


# -- the same numbers as scoring whole ------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("family", ["llama", "qwen2"])
@pytest.mark.parametrize("add_bos", [None, True, False])
@pytest.mark.parametrize("with_adapter", [False, True])
def test_cached_prefix_gives_the_uncached_log_likelihoods(
    loaded, family: str, add_bos: bool | None, with_adapter: bool
) -> None:
    # batch size 3: several batches, rows of different lengths padded in each
    model = loaded(family, with_adapter, batch_size=3, add_bos=add_bos)
    requests = _requests(model)
    cached, whole, stats, tokens = _both_ways(model, requests)
    assert _max_diff(cached, whole) <= TOLERANCE
    assert stats["cached_requests"] == len(requests) == 12 and stats["fallbacks"] == 0
    assert stats["prefixes"] == 3  # one per subject
    assert tokens["cached"] < 0.8 * tokens["whole"]  # the shots went through the model once per subject
    if with_adapter:  # the adapter is applied on the cached path too: its numbers differ from the base's
        base = loaded(family, add_bos=add_bos)
        assert _max_diff(base.loglikelihood(requests, lambda n: None), cached) > 1e-3


@pytest.mark.slow
def test_dropped_shots_and_boundary_merges_are_scored_whole_or_with_their_own_prefix(loaded) -> None:
    model = loaded("llama", batch_size=4)
    requests = _requests(model, shots=3, limit=6)  # 3 shots do not fit 256 tokens for every question
    shots = {r.context.count("Answer: ") for r in requests}
    assert len(shots) > 1, "some questions should have dropped shots"
    # a prefix cut inside a word: its last token spans the boundary, so the prompt's tokens do not begin with it
    word = "Consider the following about anatomically modern humans. Question"
    merged = [ChoiceRequest(word + f" {i}: which?\nAnswer:", (" A", " B"), prefix=word[:40]) for i in range(3)]
    # continuations of several tokens against a shared prefix
    longer = [
        ChoiceRequest(
            requests[0].prefix + f"Name a bone ({i}).\nAnswer:", (" the femur", " a very long bone"), requests[0].prefix
        )
        for i in range(3)
    ]
    everything = requests + merged + longer
    cached, whole, stats, _ = _both_ways(model, everything)
    assert _max_diff(cached, whole) <= TOLERANCE
    assert stats["fallback_reasons"].get(BOUNDARY) == 3
    assert stats["cached_requests"] + stats["fallbacks"] == len(everything)
    assert stats["cached_requests"] >= len(requests)  # each number of shots is a prefix of its own


@pytest.mark.slow
def test_a_model_without_a_copyable_cache_scores_whole_and_says_so(loaded, monkeypatch) -> None:
    from ru_llm.eval.models import prefix_cache

    model = loaded("llama", batch_size=4)
    requests = _requests(model, shots=1, limit=2)
    monkeypatch.setattr(prefix_cache, "run_prefix", lambda lm, ids: None)
    cached, whole, stats, tokens = _both_ways(model, requests)
    assert cached == whole and tokens["cached"] == tokens["whole"]
    assert stats["cached_requests"] == 0 and stats["prefixes"] == 0
    assert stats["fallback_reasons"] == {prefix_cache.NO_CACHE: len(requests)}


@pytest.mark.slow
def test_a_chat_template_prefix_starts_after_the_templates_opening(loaded) -> None:
    model = loaded("qwen2", batch_size=4, chat_template=True)
    requests = _requests(model, shots=1, limit=3)
    cached, whole, stats, tokens = _both_ways(model, requests)
    assert _max_diff(cached, whole) <= TOLERANCE
    assert stats["cached_requests"] == len(requests) and tokens["cached"] < tokens["whole"]


# -- the option and the results file ---------------------------------------------------------------
@pytest.mark.slow
def test_results_say_whether_the_cache_was_used_and_no_prefix_cache_turns_it_off(tiny_model, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ru_llm.cli.app import build_app

    model_dir = tiny_model("llama")
    settings = TaskSettings(data=str(MMLU_DATA), shots=1, limit=3)
    on = evaluate([("mmlu", MMLU)], ModelSettings(str(model_dir), device="cpu"), settings, tmp_path / "on.json")
    entry = on["tasks"]["mmlu"]
    assert on["model"]["prefix_cache"] is True
    assert entry["prefix_cache"] == {
        "used": True,
        "requests": 9,
        "prefixes": 3,
        "cached_requests": 9,
        "fallbacks": 0,
        "fallback_reasons": {},
    }
    args = ["eval", "run", "mmlu", "--model", model_dir, "--data", MMLU_DATA, "--shots", "1", "--limit", "3"]
    result = CliRunner().invoke(
        build_app(), [str(a) for a in [*args, "--no-prefix-cache", "--out", tmp_path / "off.json"]]
    )
    assert result.exit_code == 0, result.output
    off = json.loads((tmp_path / "off.json").read_text(encoding="utf-8"))
    assert off["model"]["prefix_cache"] is False
    assert off["tasks"]["mmlu"]["prefix_cache"]["used"] is False
    assert off["tasks"]["mmlu"]["prefix_cache"]["cached_requests"] == 0
    for a, b in zip(entry["items"], off["tasks"]["mmlu"]["items"], strict=True):
        assert a["prediction"] == b["prediction"]
        assert max(abs(x - y) for x, y in zip(a["logprobs"], b["logprobs"], strict=True)) <= TOLERANCE
