"""The HF seq2seq backends (wmt21, m2m100, nllb, marian) on tiny random models, and the registrations."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from ru_llm.core import ConfigError, RuLLMError
from ru_llm.translate import translators
from ru_llm.translate.backends import RETRY, Decoding, Translation
from ru_llm.translate.backends._common import cut_output, language_codes, looks_like_path
from ru_llm.translate.backends.hf import M2M100Backend, MarianBackend, NllbBackend, Wmt21Backend

TEXTS = [
    "Hello world.",
    "This is a much longer sentence about the translation of many different things into Russian.",
    "Why?",
]


# -- registration and cheap checks (no model) ------------------------------------------------------
def test_builtin_backends_are_registered():
    registry = translators()
    assert registry.names() == ["wmt21", "nllb", "m2m100", "marian", "ct2", "openai"]
    assert registry.get("opus-mt").name == "marian"
    for backend in registry:
        info = backend.info()
        assert info["name"] == backend.name and info["model_license"] and info["description"]
    assert registry.get("wmt21").default_model == "facebook/wmt21-dense-24-wide-en-x"


def test_nllb_says_it_is_non_commercial():
    nllb = NllbBackend()
    assert nllb.model_license == "CC-BY-NC-4.0" and nllb.commercial is False
    assert "non-commercial" in nllb.description
    assert nllb.info()["commercial"] is False and "non-commercial" in nllb.info()["warning"]


def test_importing_the_backends_imports_nothing_heavy():
    code = (
        "import sys, ru_llm.translate.backends.builtin\n"
        "heavy = [m for m in ('torch', 'transformers', 'ctranslate2', 'httpx', 'openai') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_language_codes_by_tokenizer():
    m2m = SimpleNamespace(get_lang_id=lambda lang: 7, get_lang_token=lambda lang: f"__{lang}__")
    assert language_codes(m2m).target_token == "__ru__" and language_codes(m2m).src_lang == "en"
    vocab = {"rus_Cyrl": 5, "eng_Latn": 6}
    nllb = SimpleNamespace(unk_token_id=3, convert_tokens_to_ids=lambda t: vocab.get(t, 3))
    codes = language_codes(nllb)
    assert (codes.scheme, codes.src_lang, codes.target_token) == ("nllb", "eng_Latn", "rus_Cyrl")
    marian = SimpleNamespace(unk_token_id=1, convert_tokens_to_ids=lambda t: 1)
    assert language_codes(marian).scheme == "none" and language_codes(marian).target_token is None


def test_cut_output_applies_each_segments_budget():
    assert cut_output([5, 6, 2, 1, 1], eos=2, budget=10) == ([5, 6], False)
    assert cut_output([5, 6, 7, 8, 9], eos=2, budget=3) == ([5, 6, 7], True)
    assert cut_output([5, 6, 7, 2], eos=2, budget=3) == ([5, 6, 7], True)  # EOS came one token too late
    assert cut_output([5, 2], eos=2, budget=3) == ([5], False)


def test_hub_ids_and_paths_are_told_apart():
    assert not looks_like_path("facebook/m2m100_418M") and not looks_like_path("gpt2")
    assert looks_like_path("./models/x") and looks_like_path("/abs/dir") and looks_like_path("a/b/c")


@pytest.mark.parametrize("model", ["/no/such/model/dir", "./missing-model", "models/a/b"])
def test_a_missing_model_dir_is_a_one_line_error(model):
    with pytest.raises(RuLLMError) as caught:
        Wmt21Backend().load(model)
    assert "does not exist" in str(caught.value) and "\n" not in str(caught.value)
    assert "local directory" in caught.value.hint


def test_an_unknown_option_is_named():
    with pytest.raises(ConfigError, match="no option 'beams'") as caught:
        MarianBackend().load("/tmp", beams=4)
    assert "device" in caught.value.hint and "dtype" in caught.value.hint


# -- loading tiny models -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def marian(tiny_model):
    translator = MarianBackend().load(str(tiny_model("marian")), device="cpu")
    yield translator
    translator.close()


@pytest.fixture(scope="module")
def wmt21(tiny_model):
    return Wmt21Backend().load(str(tiny_model("m2m100")), device="cpu")


def record_generate(translator, monkeypatch):
    """Wrap ``translator.model.generate``; returns the list of (kwargs, output sequences) per call."""
    calls = []
    generate = translator.model.generate

    def spy(*args, **kwargs):
        out = generate(*args, **kwargs)
        calls.append((kwargs, out))
        return out

    monkeypatch.setattr(translator.model, "generate", spy)
    return calls


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend,fixture", [(MarianBackend, "marian"), (Wmt21Backend, "m2m100"), (M2M100Backend, "m2m100")]
)
def test_each_backend_translates_a_padded_batch(backend, fixture, tiny_model):
    path = tiny_model(fixture)
    translator = backend().load(str(path), device="cpu", dtype="float32")
    assert translator.model_id == str(path.resolve())
    batch = translator.translate(TEXTS, Decoding())
    assert len(batch) == len(TEXTS) and all(isinstance(t, Translation) and t.text for t in batch)
    # Padding the short segments to the long one does not change them (greedy is per segment).
    assert [translator.translate([t], Decoding())[0] for t in TEXTS] == batch
    assert translator.translate([], Decoding()) == []
    translator.close()


@pytest.mark.slow
def test_wmt21_forces_russian_and_tags_the_domain(tiny_model, wmt21, monkeypatch):
    tokenizer = wmt21.tokenizer
    assert wmt21.forced_bos_token_id == tokenizer.get_lang_id("ru")
    assert tokenizer.convert_ids_to_tokens(tokenizer("Hi").input_ids)[0] == "__en__"
    calls = record_generate(wmt21, monkeypatch)
    wmt21.translate(["Hi"], Decoding())
    kwargs, sequences = calls[0]
    assert kwargs["forced_bos_token_id"] == tokenizer.get_lang_id("ru")
    assert sequences[0, 1].item() == tokenizer.get_lang_id("ru")

    tagged = Wmt21Backend().load(str(tiny_model("m2m100")), device="cpu", domain="wmtdata newsdomain")
    assert tagged.model_id.endswith("[domain=wmtdata newsdomain]")
    assert tagged.count_tokens(["Hi"])[0] > wmt21.count_tokens(["Hi"])[0]


@pytest.mark.slow
def test_count_tokens_counts_the_models_tokens(marian, wmt21):
    for translator in (marian, wmt21):
        counts = translator.count_tokens(TEXTS)
        assert counts == [len(ids) for ids in translator.tokenizer(TEXTS).input_ids]
        assert counts[1] > counts[0] > counts[2] - 1 > 0


@pytest.mark.slow
def test_max_new_tokens_follows_each_input_length(wmt21, monkeypatch):
    calls = record_generate(wmt21, monkeypatch)
    decoding = Decoding(max_new_tokens_ratio=1.0, max_new_tokens_slack=2)
    results = wmt21.translate(TEXTS, decoding)
    counts = wmt21.count_tokens(TEXTS)
    kwargs, _ = calls[0]
    # One generate call with the largest budget (+1 for the forced __ru__), no config max_length.
    assert kwargs["max_new_tokens"] == max(counts) + 2 + 1 and kwargs["max_length"] is None
    for text, result, n in zip(TEXTS, results, counts, strict=True):
        # Random weights never say EOS here: every segment is cut at its own budget, as alone.
        assert result.hit_cap
        assert wmt21.translate([text], decoding) == [result]
        _, sequences = calls[-1]
        assert sequences.shape[1] == 1 + 1 + n + 2  # start token, __ru__, the budget


@pytest.mark.slow
def test_the_configs_max_length_and_forced_eos_do_not_cut_or_hide(tiny_model, tmp_path, monkeypatch):
    # WMT21's config caps output at max_length=200 and forces EOS at the cap; both must be overridden.
    model_dir = shutil.copytree(tiny_model("m2m100"), tmp_path / "wmt21-like")
    config_file = model_dir / "generation_config.json"
    config = json.loads(config_file.read_text())
    config.update(max_length=6, forced_eos_token_id=config["eos_token_id"], num_beams=5)
    config_file.write_text(json.dumps(config))
    translator = Wmt21Backend().load(str(model_dir), device="cpu")
    calls = record_generate(translator, monkeypatch)
    long_budget = Decoding(max_new_tokens_ratio=0.0, max_new_tokens_slack=30)
    assert translator.translate(["Hello world."], long_budget)[0].hit_cap
    kwargs, sequences = calls[-1]
    assert kwargs["num_beams"] == 1 and sequences.shape[1] == 1 + 1 + 30  # start, __ru__, 30 tokens
    short = translator.translate(["Hello world."], Decoding(max_new_tokens_ratio=0.0, max_new_tokens_slack=3))
    assert short[0].hit_cap  # the forced EOS would have made it look finished


@pytest.mark.slow
def test_hit_cap_is_false_when_the_model_stops(tiny_model):
    translator = MarianBackend().load(str(tiny_model("marian")), device="cpu")
    eos = translator.eos_token_id
    translator.model.final_logits_bias[:, eos] = 1e4  # make EOS the only choice
    for decoding in (Decoding(), RETRY):
        assert translator.translate(TEXTS, decoding) == [Translation(text="", hit_cap=False)] * len(TEXTS)


@pytest.mark.slow
def test_retry_decoding_runs_beam_search(marian, monkeypatch):
    calls = record_generate(marian, monkeypatch)
    results = marian.translate(TEXTS[:2], RETRY)
    assert len(results) == 2
    kwargs, _ = calls[0]
    assert (kwargs["num_beams"], kwargs["no_repeat_ngram_size"], kwargs["repetition_penalty"]) == (4, 4, 1.2)


@pytest.mark.slow
def test_an_input_longer_than_the_model_takes_is_cut_and_flagged(marian):
    long_text = " ".join(["translation"] * (marian.max_input_tokens + 20))
    assert marian.count_tokens([long_text])[0] > marian.max_input_tokens
    result = marian.translate([long_text, "Hi."], Decoding(max_new_tokens_ratio=0.0, max_new_tokens_slack=2))
    assert result[0].hit_cap


@pytest.mark.slow
def test_dtype_and_device_options(tiny_model):
    import torch

    translator = MarianBackend().load(str(tiny_model("marian")), device="cpu", dtype="bfloat16")
    assert translator.model.dtype == torch.bfloat16 and translator.model_id.endswith("[dtype=bfloat16]")
    assert len(translator.translate(TEXTS[:1], Decoding())) == 1
    with pytest.raises(ConfigError, match="dtype"):
        MarianBackend().load(str(tiny_model("marian")), dtype="fp8")
    with pytest.raises(ConfigError, match="device"):
        MarianBackend().load(str(tiny_model("marian")), device="tpu")
    if not torch.cuda.is_available():
        for device in ("cuda", "cuda:1"):  # cuda:N is the same rule as everywhere, for hf and ct2 alike
            with pytest.raises(ConfigError, match="CUDA is not available"):
                MarianBackend().load(str(tiny_model("marian")), device=device)


@pytest.mark.slow
def test_unloadable_models_are_one_line_errors(tmp_path, tiny_model, monkeypatch):
    import huggingface_hub.constants

    # As where the hub cannot be reached, without waiting on the network (the flag is read at import).
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(RuLLMError) as caught:
        Wmt21Backend().load("nobody-here/no-such-model")
    assert "'nobody-here/no-such-model': not a local directory" in str(caught.value) and "\n" not in str(caught.value)
    assert "local directory" in caught.value.hint
    with pytest.raises(RuLLMError, match="has no config.json"):
        MarianBackend().load(str(tmp_path))  # a directory with no model in it
    decoder_only = shutil.copytree(tiny_model("marian"), tmp_path / "decoder-only")
    (decoder_only / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(RuLLMError, match="not an encoder-decoder"):
        MarianBackend().load(str(decoder_only))
