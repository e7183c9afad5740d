"""``--model-kind openai-completions``: MMLU and perplexity from a served model's prompt log-probabilities.

The server is a stdlib HTTP server in the test that answers ``/v1/completions`` with ``echo`` and ``logprobs``
as vLLM does, computing real log-probabilities with a tiny random transformers model; the same model run
in-process must give the same predictions and numbers.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from kit.openai_server import FakeOpenAI, Reply, Request
from kit.train_data import one_line_error

from ru_llm.eval.model import ModelSettings
from ru_llm.eval.run import evaluate
from ru_llm.eval.task import TaskSettings
from ru_llm.eval.tasks.mmlu import MMLU
from ru_llm.eval.tasks.perplexity import Perplexity

MMLU_DATA = Path(__file__).resolve().parent.parent / "data" / "mmlu"


class LogprobServer:
    """Answers ``POST /v1/completions`` like vLLM: with ``echo``, each prompt token, its log-probability given
    the tokens before it (``None`` for the first) and its character offset; ``max_tokens: 0`` generates none."""

    def __init__(self, model_dir: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.lock = threading.Lock()
        self.fake = FakeOpenAI()
        self.fake.default = self.answer

    def answer(self, request: Request) -> Reply:
        body = request["body"]
        if not request["path"].endswith("/completions") or "chat" in request["path"]:
            return 404, {}, {"error": {"message": "only /v1/completions here"}}
        assert body["echo"] is True and body["max_tokens"] == 0 and body["logprobs"] >= 1, body
        encoded = self.tokenizer(body["prompt"], return_offsets_mapping=True)
        ids = encoded["input_ids"]
        with self.lock, self.torch.no_grad():
            logits = self.model(input_ids=self.torch.tensor([ids])).logits[0].float()
        logp = self.torch.log_softmax(logits, dim=-1)
        values = [None] + [float(logp[k - 1, ids[k]]) for k in range(1, len(ids))]
        logprobs = {
            "tokens": self.tokenizer.convert_ids_to_tokens(ids),
            "token_logprobs": values,
            "text_offset": [start for start, _ in encoded["offset_mapping"]],
            "top_logprobs": None,
        }
        choice = {"index": 0, "text": body["prompt"], "logprobs": logprobs, "finish_reason": "length"}
        return 200, {}, {"choices": [choice], "usage": {"prompt_tokens": len(ids), "completion_tokens": 0}}


@pytest.fixture(scope="module")
def served(tiny_model) -> LogprobServer:  # type: ignore[no-untyped-def]
    server = LogprobServer(tiny_model("llama"))  # a tokenizer that adds a BOS: every text token gets a logprob
    assert server.tokenizer.is_fast and server.tokenizer("a")["input_ids"][0] == server.tokenizer.bos_token_id
    yield server
    server.fake.httpd.shutdown()
    server.fake.httpd.server_close()


def _remote(served: LogprobServer, **more: Any) -> ModelSettings:
    return ModelSettings("tiny", kind="openai-completions", base_url=served.fake.url, concurrency=4, **more)


def test_mmlu_from_a_completions_server_equals_the_in_process_model(
    served: LogprobServer, tiny_model, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = TaskSettings(data=str(MMLU_DATA), limit=4, shots=1)
    here = evaluate([("mmlu", MMLU)], ModelSettings(str(tiny_model("llama")), device="cpu", dtype="fp32"), settings,
                    tmp_path / "here.json")["tasks"]["mmlu"]  # fmt: skip
    served.fake.requests.clear()
    there = evaluate([("mmlu", MMLU)], _remote(served), settings, tmp_path / "there.json")
    task = there["tasks"]["mmlu"]
    assert [(i["id"], i["prediction"], i["gold"]) for i in task["items"]] == [
        (i["id"], i["prediction"], i["gold"]) for i in here["items"]
    ]
    assert task["metrics"]["accuracy"] == here["metrics"]["accuracy"]
    assert task["metrics"]["macro_accuracy"] == here["metrics"]["macro_accuracy"]
    assert len(served.fake.requests) == 4 * len(task["items"])  # one prompt per letter
    assert there["model"]["device"] == "remote" and there["model"]["dtype"] is None
    assert there["settings"]["base_url"] == served.fake.url.rstrip("/")
    again = evaluate([("mmlu", MMLU)], _remote(served), settings, tmp_path / "there.json")
    assert again["tasks"]["mmlu"]["counts"]["reused_from_cache"] == len(task["items"])  # resumed: no calls
    assert len(served.fake.requests) == 4 * len(task["items"])


def test_perplexity_from_a_completions_server_equals_the_in_process_model(
    served: LogprobServer, tiny_model, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    text = tmp_path / "text.txt"
    text.write_text("Москва — столица России.\nThe quick brown fox jumps over the lazy dog.\n", encoding="utf-8")
    settings = TaskSettings(data=str(text))
    here = evaluate([("perplexity", Perplexity())], ModelSettings(str(tiny_model("llama")), device="cpu"), settings,
                    tmp_path / "here.json")["tasks"]["perplexity"]  # fmt: skip
    there = evaluate([("perplexity", Perplexity())], _remote(served), settings, tmp_path / "there.json")
    remote = there["tasks"]["perplexity"]
    assert [i["tokens"] for i in remote["items"]] == [i["tokens"] for i in here["items"]]
    assert remote["metrics"]["perplexity"] == pytest.approx(here["metrics"]["perplexity"], rel=1e-4)


def test_a_server_without_prompt_logprobs_fails_the_items_with_the_reason(
    served: LogprobServer, tmp_path: Path
) -> None:
    served.fake.script = [(200, {}, {"choices": [{"index": 0, "text": "", "logprobs": None}]})] * 200
    try:
        out = evaluate([("mmlu", MMLU)], _remote(served, retry_backoff=0.0), TaskSettings(data=str(MMLU_DATA), limit=1),
                       tmp_path / "r.json")  # fmt: skip
    finally:
        served.fake.script = []
    task = out["tasks"]["mmlu"]
    assert task["counts"]["scored"] == 0 and task["counts"]["failed"] == 3  # one question per subject
    assert "no echoed prompt log-probabilities" in task["failures"][0]["reason"]
    partial = tmp_path / "r.json.partial.jsonl"
    assert not partial.exists() or not partial.read_text(encoding="utf-8").strip()  # nothing cached: asked again


def test_chat_tasks_and_missing_settings_are_one_line(served: LogprobServer, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ru_llm.cli.app import build_app

    def cli(*args: Any) -> Any:
        return CliRunner().invoke(build_app(), [str(a) for a in args], prog_name="ru-llm", env={"COLUMNS": "200"})

    base = [
        "eval",
        "run",
        "mmlu",
        "--model-kind",
        "openai-completions",
        "--model",
        "tiny",
        "--out",
        tmp_path / "r.json",
    ]
    assert "--model tiny: needs --base-url URL" in one_line_error(cli(*base, "--data", MMLU_DATA))
    unknown = one_line_error(cli(*base, "--base-url", served.fake.url, "--model-kind", "vllm"))
    assert "unknown model kind 'vllm'" in unknown and "openai-completions" in unknown
    url = served.fake.url
    judged = ["eval", "run", "mt_bench", "--model-kind", "openai-completions", "--model", "tiny", "--base-url", url,
              "--task-option", "judge_model=judge", "--task-option", f"judge_base_url={url}",
              "--data", MMLU_DATA.parent / "mt_bench" / "en", "--limit", "1", "--out", tmp_path / "m.json"]  # fmt: skip
    line = one_line_error(CliRunner().invoke(build_app(), [str(a) for a in judged], prog_name="ru-llm",
                                             env={"COLUMNS": "200", "OPENAI_API_KEY": "sk-x"}))  # fmt: skip
    assert "mt_bench: needs a model that chats" in line
