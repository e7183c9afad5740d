"""The ct2 backend: tiny M2M100 and opus-mt Marian models converted offline, checked against HF generate.

Finding (CTranslate2 4.8, transformers 5): on the same float32 weights, greedy search, beam search,
repetition_penalty and no_repeat_ngram_size each give token-for-token the same output as HF
``generate``; beam search *combined with* repetition_penalty != 1 (the engine's RETRY) does not, so
HF and ct2 retries may differ. Budgets and hit_cap agree.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from ru_llm.core import RuLLMError
from ru_llm.translate.backends import RETRY, Decoding
from ru_llm.translate.backends.ct2 import CT2Backend, is_ct2_dir, require_ctranslate2
from ru_llm.translate.backends.hf import MarianBackend, Wmt21Backend

TEXTS = [
    "Hello world.",
    "This is a much longer sentence about the translation of many different things into Russian.",
    "Why?",
]
SAME_AS_HF = [
    Decoding(),
    Decoding(max_new_tokens_ratio=0.0, max_new_tokens_slack=3),
    Decoding(num_beams=4),
    Decoding(num_beams=4, no_repeat_ngram_size=4),
    Decoding(repetition_penalty=1.2),
]


def test_a_missing_ctranslate2_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ctranslate2", None)
    with pytest.raises(RuLLMError, match="needs CTranslate2") as caught:
        require_ctranslate2()
    assert 'pip install "ru-llm-translate[ct2]"' in caught.value.hint


needs_ct2 = pytest.mark.skipif(
    importlib.util.find_spec("ctranslate2") is None, reason='needs the ct2 extra: pip install "ru-llm-translate[ct2]"'
)


@pytest.fixture(scope="module")
def opus_mt(tmp_path_factory):
    from kit.tiny_opus_mt import build_tiny_opus_mt

    return build_tiny_opus_mt(tmp_path_factory.mktemp("tiny-opus-mt"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("ct2-cache")


class RecordingTranslator:
    """Stands in for ``ctranslate2.Translator``, recording the options of each call."""

    def __init__(self, translator):
        self.translator = translator
        self.calls = []

    def translate_batch(self, source, **kwargs):
        self.calls.append(kwargs)
        return self.translator.translate_batch(source, **kwargs)


@pytest.mark.slow
@needs_ct2
def test_m2m100_converts_and_matches_hf(tiny_model, cache):
    model = tiny_model("m2m100")
    ct2 = CT2Backend().load(str(model), device="cpu", cache_dir=str(cache))
    hf = Wmt21Backend().load(str(model), device="cpu")
    assert ct2.model_id == f"ct2:{model.resolve()}" and "ct2" not in hf.model_id
    assert ct2.count_tokens(TEXTS) == hf.count_tokens(TEXTS)
    assert ct2.max_input_tokens == hf.max_input_tokens and ct2.max_output_tokens == hf.max_output_tokens
    for decoding in SAME_AS_HF:
        results = ct2.translate(TEXTS, decoding)
        assert len(results) == len(TEXTS) and all(r.text for r in results)
        assert results == hf.translate(TEXTS, decoding), decoding
    assert len(ct2.translate(TEXTS, RETRY)) == len(TEXTS)  # runs; need not equal HF (see the module doc)
    assert ct2.translate([], Decoding()) == []
    ct2.close()


@pytest.mark.slow
@needs_ct2
def test_opus_mt_marian_converts_and_matches_hf(opus_mt, cache):
    ct2 = CT2Backend().load(str(opus_mt), device="cpu", cache_dir=str(cache))
    hf = MarianBackend().load(str(opus_mt), device="cpu")
    assert ct2.codes.target_token is None
    for decoding in SAME_AS_HF:
        assert ct2.translate(TEXTS, decoding) == hf.translate(TEXTS, decoding), decoding


@pytest.mark.slow
@needs_ct2
def test_limits_are_set_from_the_decoding_not_ct2_defaults(tiny_model, cache):
    ct2 = CT2Backend().load(str(tiny_model("m2m100")), device="cpu", cache_dir=str(cache))
    ct2.translator = recorder = RecordingTranslator(ct2.translator)
    decoding = Decoding(max_new_tokens_ratio=1.5, max_new_tokens_slack=4)
    results = ct2.translate(TEXTS, decoding)
    options = recorder.calls[0]
    counts = ct2.count_tokens(TEXTS)
    assert options["max_input_length"] == ct2.max_input_tokens  # not 1024
    # The budget of the longest segment plus the __ru__ prefix, which ct2 counts (not 256).
    assert options["max_decoding_length"] == int(1.5 * max(counts)) + 4 + 1
    assert options["beam_size"] == 1 and options["return_end_token"] is True  # not ct2's default beam of 2
    assert options["target_prefix"] == [["__ru__"]] * len(TEXTS)
    for text, result in zip(TEXTS, results, strict=True):
        assert result.hit_cap and ct2.translate([text], decoding) == [result]  # each cut at its own budget
    ct2.translate(TEXTS[:1], RETRY)
    retry = recorder.calls[-1]
    assert (retry["beam_size"], retry["no_repeat_ngram_size"], retry["repetition_penalty"]) == (4, 4, 1.2)


@pytest.mark.slow
@needs_ct2
def test_a_converted_dir_loads_directly_and_the_cache_is_reused(tiny_model, cache):
    model = tiny_model("m2m100")
    first = CT2Backend().load(str(model), device="cpu", cache_dir=str(cache))
    converted = [d for d in cache.iterdir() if is_ct2_dir(d) and d.name.startswith(model.name)]
    assert len(converted) == 1
    stamp = (converted[0] / "model.bin").stat().st_mtime_ns
    again = CT2Backend().load(str(model), device="cpu", cache_dir=str(cache))
    assert (converted[0] / "model.bin").stat().st_mtime_ns == stamp  # not converted twice
    direct = CT2Backend().load(str(converted[0]), device="cpu")
    assert direct.model_id == first.model_id == again.model_id  # names the source model, not the cache
    assert direct.translate(TEXTS, Decoding()) == first.translate(TEXTS, Decoding())


@pytest.mark.slow
@needs_ct2
def test_quantization_is_part_of_the_model_id(tiny_model, tmp_path):
    ct2 = CT2Backend().load(str(tiny_model("m2m100")), device="cpu", cache_dir=str(tmp_path), quantization="int8")
    assert ct2.model_id.endswith("[quantization=int8]")
    assert len(ct2.translate(TEXTS, Decoding())) == len(TEXTS)


@pytest.mark.slow
@needs_ct2
def test_unconvertible_models_are_one_line_errors(tiny_model, tmp_path):
    # The fixture Marian has <pad> at id 0; CTranslate2's converter needs the opus-mt layout (<pad> last).
    with pytest.raises(RuLLMError, match="cannot convert model") as caught:
        CT2Backend().load(str(tiny_model("marian")), device="cpu", cache_dir=str(tmp_path))
    assert "\n" not in str(caught.value) and "ct2-transformers-converter" in caught.value.hint
    assert not any(tmp_path.iterdir())  # no half-written conversion left behind
    with pytest.raises(RuLLMError, match="does not exist"):
        CT2Backend().load(str(tmp_path / "missing"))


@pytest.mark.parametrize(
    ("device", "index", "expected"),
    [("cpu", None, ("cpu", 0)), ("cuda", 2, ("cuda", 2)), ("cuda:1", None, ("cuda", 1)), ("cuda:1", "1", ("cuda", 1)),
     ("auto", None, ("cuda", 0)), ("auto", 3, ("cuda", 3))],
)  # fmt: skip
def test_devices_follow_the_one_rule_and_cuda_n_sets_the_index(device, index, expected) -> None:
    from types import SimpleNamespace

    from ru_llm.translate.backends.ct2 import ct2_device

    one_gpu = SimpleNamespace(get_cuda_device_count=lambda: 1)
    assert ct2_device(device, index, one_gpu) == expected


def test_a_device_ct2_cannot_use_is_a_one_line_error() -> None:
    from types import SimpleNamespace

    from ru_llm.core import ConfigError
    from ru_llm.translate.backends.ct2 import ct2_device

    no_gpu = SimpleNamespace(get_cuda_device_count=lambda: 0)
    assert ct2_device("auto", None, no_gpu) == ("cpu", 0)
    with pytest.raises(ConfigError, match="'mps' is not supported here; expected cpu, cuda, cuda:N, auto"):
        ct2_device("mps", None, no_gpu)
    with pytest.raises(ConfigError, match="device 'cuda:1' and device_index 2 name different GPUs"):
        ct2_device("cuda:1", 2, no_gpu)
