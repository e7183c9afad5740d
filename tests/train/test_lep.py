"""Learned Embedding Propagation on constructed models: instruct = base × a known map P."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from kit.train_data import one_line_error
from transformers import AutoModelForCausalLM, AutoTokenizer

from ru_llm.train.lep import propagate

pytestmark = pytest.mark.slow

NEW_TOKENS = ["привет", "спасибо", "сегодня", "говорить"]
# "llama" runs on llama-small: LLaMA with untied embeddings as LLaMA-2 has, on a 1,000-piece vocabulary (the
# real 32,000-piece one made each llama case load and save its tokenizer ~10 times, ~8 s a case)
MODELS = {"llama": "llama-small", "gpt2": "gpt2"}


def _constructed(tmp_path: Path, base: Path) -> tuple[Path, Path, torch.Tensor, torch.Tensor]:
    """(instruct dir, adapted-base dir, P for the input embeddings, P for lm_head)."""
    from ru_llm.tokenize.resize import resize_model

    tok = AutoTokenizer.from_pretrained(base)
    tok.add_tokens(NEW_TOKENS)
    tok.save_pretrained(tmp_path / "tok")
    resize_model(base, tmp_path / "tok", tmp_path / "b2")
    b2 = AutoModelForCausalLM.from_pretrained(tmp_path / "b2")
    with torch.no_grad():  # "trained" new rows: not the mean initialisation any more
        rows = b2.get_input_embeddings().weight
        rows[-len(NEW_TOKENS) :] += 0.5 * torch.randn(
            len(NEW_TOKENS), rows.shape[1], generator=torch.Generator().manual_seed(1)
        )
    b2.save_pretrained(tmp_path / "b2")

    model = AutoModelForCausalLM.from_pretrained(base)
    d = model.config.hidden_size
    g = torch.Generator().manual_seed(0)
    p_in = torch.eye(d) + 0.3 * torch.randn(d, d, generator=g)
    p_out = torch.eye(d) + 0.3 * torch.randn(d, d, generator=g)
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(model.get_input_embeddings().weight @ p_in)
        if not model.config.tie_word_embeddings:
            model.get_output_embeddings().weight.copy_(model.get_output_embeddings().weight @ p_out)
    model.save_pretrained(tmp_path / "instruct")
    AutoTokenizer.from_pretrained(base).save_pretrained(tmp_path / "instruct")
    return tmp_path / "instruct", tmp_path / "b2", p_in, p_out


@pytest.mark.parametrize(
    ("family", "mode"),  # llama: untied embeddings; gpt2: tied
    [("llama", "conversion"), ("llama", "swap"), ("gpt2", "conversion"), ("gpt2", "overlap"), ("gpt2", "swap")],
)
def test_lep_recovers_the_map_and_applies_it_to_the_adapted_rows(
    tiny_model, tmp_path: Path, family: str, mode: str
) -> None:
    base = tiny_model(MODELS[family])
    instruct, b2_dir, p_in, p_out = _constructed(tmp_path, base)
    report = propagate(str(base), str(instruct), str(b2_dir), tmp_path / "out", mode=mode)
    b2 = AutoModelForCausalLM.from_pretrained(b2_dir)
    result = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "out")
    assert len(tokenizer) == len(AutoTokenizer.from_pretrained(b2_dir))
    expected_in = b2.get_input_embeddings().weight if mode == "swap" else b2.get_input_embeddings().weight @ p_in
    instruct_model = AutoModelForCausalLM.from_pretrained(instruct)
    specials = sorted(set(tokenizer.all_special_ids))  # they keep the instruct model's own rows
    own = instruct_model.get_input_embeddings().weight
    assert torch.equal(result.get_input_embeddings().weight[specials], own[specials])
    others = [i for i in range(expected_in.shape[0]) if i not in set(specials)]
    assert torch.allclose(result.get_input_embeddings().weight[others], expected_in[others], atol=1e-4)
    tied = result.config.tie_word_embeddings
    assert report.tied == tied and [f.matrix for f in report.fits] == (
        ["input_embeddings"] if tied else ["input_embeddings", "lm_head"]
    )
    if tied:
        assert result.get_output_embeddings().weight.data_ptr() == result.get_input_embeddings().weight.data_ptr()
    else:
        expected_out = (
            b2.get_output_embeddings().weight if mode == "swap" else b2.get_output_embeddings().weight @ p_out
        )
        assert torch.allclose(result.get_output_embeddings().weight[others], expected_out[others], atol=1e-4)
    if mode != "swap":
        assert all(f.residual < 1e-5 for f in report.fits)
    body = [k for k in instruct_model.state_dict() if "embed" not in k and "wte" not in k and "lm_head" not in k]
    assert all(torch.equal(instruct_model.state_dict()[k], result.state_dict()[k]) for k in body)  # I's body kept
    ids = tokenizer("привет, как дела", return_tensors="pt")["input_ids"]
    assert result.generate(ids, max_new_tokens=2, do_sample=False).shape[1] == ids.shape[1] + 2


def test_lep_refuses_mismatched_models_with_one_line(tiny_model, tmp_path: Path, cli) -> None:
    llama, gpt2 = tiny_model(MODELS["llama"]), tiny_model("gpt2")
    line = one_line_error(
        cli("train", "lep", "--base", llama, "--instruct", gpt2, "--adapted-base", llama, "--out", tmp_path / "o")
    )
    assert "LEP needs models of one architecture" in line
    line = one_line_error(
        cli("train", "lep", "--base", llama, "--instruct", llama, "--adapted-base", llama, "--out", tmp_path / "o")
    )
    assert "nothing to propagate" in line
    line = one_line_error(
        cli("train", "lep", "--base", tmp_path, "--instruct", llama, "--adapted-base", llama, "--out", tmp_path / "o")
    )
    assert "no config.json" in line
    assert not (tmp_path / "o").exists()


def test_the_least_squares_map_is_exact_without_noise_and_close_with_it() -> None:
    from ru_llm.train.lep import fit_projection

    g = torch.Generator().manual_seed(3)
    x = torch.randn(500, 16, generator=g)
    p = torch.randn(16, 16, generator=g)
    solved, residual = fit_projection(x, x @ p)
    assert torch.allclose(solved.float(), p, atol=1e-5) and residual < 1e-6
    noisy, residual = fit_projection(x, x @ p + 0.01 * torch.randn(500, 16, generator=g))
    assert torch.allclose(noisy.float(), p, atol=5e-3) and 1e-4 < residual < 0.05
