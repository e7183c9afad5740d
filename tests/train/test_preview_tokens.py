"""`ru-llm train preview` on real tokenizers: words keep their spaces, and the trained tokens are listed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ru_llm.core.jsonl import write_jsonl

SYSTEM = "Ты русскоязычный автоматический ассистент."
REPLY = "Конечно, вот короткий ответ."


def _model_with(tiny_model, real_tokenizer, tmp_path: Path, family: str, tokenizer: str) -> Path:
    """A tiny model's config beside a real tokenizer: all `train preview` reads."""
    model = tmp_path / f"model-{tokenizer}"
    model.mkdir()
    shutil.copy(tiny_model(family) / "config.json", model / "config.json")
    real_tokenizer(tokenizer).save_pretrained(model)
    return model


def _data(tmp_path: Path) -> Path:
    question = "Расскажи подробно, " + ", ".join(f"что было в году {1900 + i}" for i in range(20)) + "?"
    record = {
        "id": "long-prompt",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
            {"role": "assistant", "content": REPLY},
        ],
    }
    write_jsonl(tmp_path / "long.jsonl", [record])
    return tmp_path / "long.jsonl"


@pytest.mark.parametrize(
    ("family", "tokenizer", "template"), [("llama", "llama2", "saiga"), ("qwen2", "qwen2.5", "chatml")]
)
def test_preview_keeps_spaces_and_lists_the_reply_after_a_long_prompt(
    run_config, cli, tiny_model, real_tokenizer, tmp_path, family, tokenizer, template
) -> None:
    model = _model_with(tiny_model, real_tokenizer, tmp_path, family, tokenizer)
    config = run_config(family, model=str(model), data=str(_data(tmp_path)), template=template, max_length=1024)
    result = cli("train", "preview", config, "-n", "1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert SYSTEM in out and REPLY in out  # the decoded text keeps the spaces between words
    assert "что было в году 1919?" in out
    assert "tokens …" in out  # the long prompt is elided in the table
    trained = int(re.search(r"(\d+) trained", out).group(1))
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if line.count("│") == 5]
    listed = [c for c in cells if c[3] not in ("-100", "")]
    assert len(listed) == trained and all(c[2] == c[3] for c in listed)  # every trained token, labelled by its id
    assert "".join(c[1] for c in listed).replace("▁", " ").strip().startswith(REPLY)
