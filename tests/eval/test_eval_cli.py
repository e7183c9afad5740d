"""`ru-llm eval run|tasks|compare` on tiny models: results JSON, resume from cache, reports, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from kit.train_data import one_line_error

MMLU_DATA = Path(__file__).resolve().parent.parent / "data" / "mmlu"
TEXT = Path(__file__).resolve().parent.parent / "data" / "text" / "ru_ud_gsd_dev.txt"


@pytest.mark.slow
def test_mmlu_on_a_tiny_model_writes_items_and_a_rerun_reuses_them(cli, tiny_model, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["eval", "run", "mmlu,perplexity", "--model", tiny_model("qwen2"), "--data", MMLU_DATA,
            "--data", f"perplexity={TEXT}", "--limit", "6", "--device", "cpu", "--out", out]  # fmt: skip
    result = cli(*args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    mmlu = data["tasks"]["mmlu"]
    assert mmlu["counts"]["scored"] == 18
    assert [i["id"] for i in mmlu["items"][:2]] == ["anatomy/0", "anatomy/1"]
    assert all(i["prediction"] in "ABCD" and i["gold"] in "ABCD" for i in mmlu["items"])
    assert data["model"]["weights_sha256"] and data["versions"]["transformers"]
    assert data["tasks"]["perplexity"]["metrics"]["perplexity"] > 1
    again = cli(*args)
    assert again.exit_code == 0
    rerun = json.loads(out.read_text(encoding="utf-8"))
    assert rerun["tasks"]["mmlu"]["counts"]["reused_from_cache"] == 18
    assert [i["prediction"] for i in rerun["tasks"]["mmlu"]["items"]] == [i["prediction"] for i in mmlu["items"]]


@pytest.mark.slow
def test_letter_scores_are_the_next_token_log_probabilities_whatever_the_batch(tiny_model) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ru_llm.eval.models.hf import HFEvalModel, ModelSettings
    from ru_llm.eval.task import ChoiceRequest

    path = tiny_model("llama")
    prompts = ["Question one?\nA. x\nB. y\nC. z\nD. w\nAnswer:", "Short?\nAnswer:", "Вопрос на русском?\nAnswer:"]
    requests = [ChoiceRequest(p, (" A", " B", " C", " D")) for p in prompts]
    auto = HFEvalModel(ModelSettings(str(path), device="cpu")).loglikelihood(requests, lambda n: None)
    one = HFEvalModel(ModelSettings(str(path), device="cpu", batch_size=1)).loglikelihood(requests, lambda n: None)
    assert [x for row in auto for x in row] == pytest.approx([x for row in one for x in row], abs=1e-5)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    for prompt, scores in zip(prompts, auto, strict=True):
        # the tokenizer's own special tokens (LLaMA's BOS), as ru-llm and lm-eval >= 0.4.10 add them by default
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            last = torch.log_softmax(model(ids).logits[0, -1], dim=-1)
        for letter, score in zip("ABCD", scores, strict=True):
            whole = tokenizer(prompt + " " + letter)["input_ids"]
            assert score == pytest.approx(float(last[whole[-1]]), abs=1e-4)


def test_tasks_lists_the_builtins(cli) -> None:
    result = cli("eval", "tasks")
    assert result.exit_code == 0
    for name in ("mmlu", "mmlu_ru", "perplexity"):
        assert name in result.stdout


def test_bad_input_is_one_line(cli, tiny_model, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    line = one_line_error(cli("eval", "run", "mmlu_xx", "--model", tmp_path, "--out", out))
    assert "unknown task 'mmlu_xx'" in line and "mmlu_ru" in line
    model = tiny_model("llama")
    line = one_line_error(cli("eval", "run", "mmlu", "--model", model, "--data", tmp_path / "none", "--out", out))
    assert "no test data found" in line
    line = one_line_error(cli("eval", "run", "mmlu", "--model", tmp_path, "--data", MMLU_DATA, "--out", out))
    assert "no config.json" in line
    line = one_line_error(
        cli(
            "eval",
            "run",
            "mmlu",
            "--model",
            tiny_model("llama"),
            "--data",
            MMLU_DATA,
            "--subjects",
            "x",
            "--out",
            out,
        )
    )
    assert "no test data for subject 'x'" in line
    assert not out.exists()


def test_compare_writes_markdown_and_a_self_contained_html(cli, tmp_path: Path) -> None:
    def results(name: str, accuracy: float) -> Path:
        path = tmp_path / f"{name}.json"
        metrics = {"accuracy": accuracy, "category/STEM": accuracy, "subject/anatomy": accuracy}
        payload = {
            "model": {"path": name},
            "tasks": {"mmlu": {"metrics": metrics, "counts": {"scored": 10, "failed": 0}}},
        }
        path.write_text(json.dumps(payload), encoding="utf-8")
        return path

    md, page = tmp_path / "r.md", tmp_path / "r.html"
    result = cli("eval", "compare", results("base", 0.25), results("adapted", 0.5), "--markdown", md, "--html", page)
    assert result.exit_code == 0, result.output
    assert "| mmlu | accuracy | 0.2500 | 0.5000 | 2.000 |" in md.read_text(encoding="utf-8")  # with the ratio
    assert "adapted / base" in result.stdout
    html = page.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2  # headline metrics and MMLU categories
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html), "the report must not fetch anything"
    assert "subject/anatomy" in html  # details in the HTML table
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    assert "not an `ru-llm eval run` results file" in one_line_error(cli("eval", "compare", bad))


@pytest.mark.slow
def test_an_adapter_for_another_base_is_one_line(cli, tiny_model, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    adapter = tmp_path / "adapter"
    gpt2 = AutoModelForCausalLM.from_pretrained(tiny_model("gpt2"))
    get_peft_model(gpt2, LoraConfig(target_modules=["c_attn"], fan_in_fan_out=True)).save_pretrained(adapter)
    line = one_line_error(
        cli(
            "eval",
            "run",
            "mmlu",
            "--model",
            tiny_model("llama"),
            "--adapter",
            adapter,
            "--data",
            MMLU_DATA,
            "--limit",
            "1",
            "--out",
            tmp_path / "r.json",
        )
    )
    assert "does not fit this model" in line
    assert not (tmp_path / "r.json").exists()
