"""Jinja export: every built-in renders the same bytes and the same trainable characters both ways."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import jinja2
import pytest
from conftest import REPO

from ru_llm.core import ConfigError, Conversation, RecordError, conversation
from ru_llm.dataset import get_template
from ru_llm.dataset.templates import (
    Template,
    export_chat_template,
    export_training_chat_template,
    render_chat_template,
    save_chat_template,
    tokenize_conversation,
)
from ru_llm.dataset.templates.jinja import message_dicts, segments_from_spans

BUILTINS = ("human_assistant", "saiga", "chatml", "qwen2.5", "llama2", "llama3", "mistral")
OFFICIAL = REPO / "tests" / "data" / "chat_templates"

TEXTS = [
    "Привет",
    "Объясни, пожалуйста, что такое LoRA?\nКоротко.",
    "",
    " ",
    "  пробелы по краям \n",
    "<s>",
    "</s>",
    "<|im_end|>",
    "<|im_start|>assistant\n",
    "[INST] вставка [/INST]",
    "<<SYS>>\nx\n<</SYS>>",
    "<|eot_id|><|start_header_id|>",
    "</endoftext>",
    "{{ messages }} {% raw %} {# x #}",
    "'кавычки' \"двойные\" \\ обратная черта",
    "emoji 🦀, ё, 中文, العربية",
    "\t табуляция\r\nи CRLF",
    "\u2028\u00a0\ufeff",
]


def corpus(n: int = 240, seed: int = 7) -> list[Conversation]:
    """Many conversations: 1-4 exchanges, with or without system, odd text, late system, user-final."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        turns: list[tuple[str, str]] = []
        if rng.random() < 0.5:
            turns.append(("system", rng.choice(TEXTS)))
        for _ in range(rng.randint(1, 4)):
            turns += [("user", rng.choice(TEXTS)), ("assistant", rng.choice(TEXTS))]
        shape = rng.random()
        if shape < 0.1:
            turns.append(("user", rng.choice(TEXTS)))  # ends on a user turn (a prompt)
        elif shape < 0.15:
            turns.insert(len(turns) - 1, ("system", rng.choice(TEXTS)))  # a late system message
        elif shape < 0.2:
            turns = [t for t in turns if t[0] != "system"][1:]  # opens with the assistant
        out.append(conversation(f"conv-{i}", turns or [("user", "x")]))
    # The pairs that stress boundaries, deterministically.
    for a, b in itertools.product(TEXTS[:8], repeat=2):
        out.append(conversation(f"pair-{len(out)}", [("system", a), ("user", b), ("assistant", a + b)]))
    return out


CORPUS = corpus()


def python_render(template: Template, conv: Conversation):
    try:
        return template.render(conv), template.render_prompt(conv)
    except RecordError:
        return None


def jinja_render(source: str, conv: Conversation):
    try:
        text, spans = render_chat_template(source, message_dicts(conv))
        prompt, _ = render_chat_template(source, message_dicts(conv), add_generation_prompt=True)
    except jinja2.TemplateError:
        return None
    return segments_from_spans(text, spans), prompt


def char_mask(segments) -> str:
    return "".join(("1" if s.trainable else "0") * len(s.text) for s in segments)


@pytest.mark.parametrize("name", BUILTINS)
def test_python_and_jinja_render_identical_text_and_masks(name: str) -> None:
    template = get_template(name)
    source = export_training_chat_template(template)
    assert "{% generation %}" in source.replace("{%- generation %}", "{% generation %}")
    rendered = refused = 0
    for conv in CORPUS:
        py, jj = python_render(template, conv), jinja_render(source, conv)
        assert (py is None) == (jj is None), conv.id  # refused by both or by neither
        if py is None:
            refused += 1
            continue
        (segments, prompt), (j_segments, j_prompt) = py, jj
        text = "".join(s.text for s in segments)
        assert text == "".join(s.text for s in j_segments), conv.id
        assert char_mask(segments) == char_mask(j_segments), conv.id
        assert prompt == j_prompt, conv.id
        rendered += 1
    assert rendered > 200
    if name in ("llama2", "mistral"):
        assert refused > 0  # late system messages and assistant openings are refused


def test_the_jinja_renderer_matches_transformers_on_official_templates(real_tokenizer) -> None:
    tokenizer = real_tokenizer("qwen2.5")
    sources = [OFFICIAL / "Qwen-Qwen2.5-7B-Instruct.jinja", OFFICIAL / "meta-llama-Llama-3.1-8B-Instruct.jinja"]
    for path in sources:
        source = path.read_text(encoding="utf-8")
        for conv in CORPUS[:60]:
            messages = message_dicts(conv)
            try:
                expected = tokenizer.apply_chat_template(
                    messages, chat_template=source, tokenize=False, add_generation_prompt=True, bos_token="<B>"
                )
            except jinja2.TemplateError:
                continue
            assert render_chat_template(source, messages, add_generation_prompt=True, bos_token="<B>")[0] == expected


@pytest.mark.parametrize(
    ("name", "tokenizer_name"),
    [("chatml", "qwen2.5"), ("llama3", "llama3"), ("llama2", "llama2"), ("mistral", "mistral-7b-v0.1"),
     ("saiga", "mistral-7b-v0.1"), ("human_assistant", "llama2")],
)  # fmt: skip
def test_transformers_assistant_mask_agrees_with_our_labels(name: str, tokenizer_name: str, real_tokenizer) -> None:
    tokenizer = real_tokenizer(tokenizer_name)
    template = get_template(name)
    source = export_training_chat_template(template)
    checked = 0
    for conv in CORPUS:
        if any(t in m.content for m in conv.messages for t in tokenizer.all_special_tokens):
            continue  # special-token text is refused by tokenize_conversation (tested in test_templates_labels)
        try:
            ours = tokenize_conversation(conv, template, tokenizer, add_bos=False)
        except RecordError:
            continue
        out = tokenizer.apply_chat_template(
            message_dicts(conv), chat_template=source, return_dict=True, return_assistant_tokens_mask=True
        )
        assert list(out["input_ids"]) == ours["input_ids"], conv.id
        assert list(out["assistant_masks"]) == [int(label != -100) for label in ours["labels"]], conv.id
        checked += 1
    assert checked > 100


def test_save_chat_template_makes_transformers_render_identically(real_tokenizer, tmp_path: Path) -> None:
    tokenizer = real_tokenizer("mistral-7b-v0.1")
    tokenizer.save_pretrained(tmp_path)
    template = get_template("saiga")
    written = save_chat_template(template, tmp_path)
    assert written == tmp_path / "chat_template.jinja"
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["chat_template"] == export_chat_template(template)  # the serving one, without markers

    from transformers import AutoTokenizer

    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert reloaded.chat_template == export_chat_template(template)
    for conv in CORPUS[:40]:
        expected = python_render(template, conv)
        assert expected is not None
        text = reloaded.apply_chat_template(message_dicts(conv), tokenize=False, add_generation_prompt=True)
        assert text == expected[1]


def test_save_chat_template_needs_a_directory_and_an_exportable_template(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        save_chat_template(get_template("chatml"), tmp_path / "missing")

    class Plain:
        name = "plain"

    with pytest.raises(ConfigError, match="cannot export"):
        export_chat_template(Plain())  # type: ignore[arg-type]


def test_generation_spans_are_tracked_per_render() -> None:
    source = "{% for m in messages %}{{ m['role'] }}:{% generation %}{{ m['content'] }}{% endgeneration %};{% endfor %}"
    text, spans = render_chat_template(source, [{"role": "a", "content": "xy"}, {"role": "b", "content": ""}])
    assert text == "a:xy;b:;"
    assert spans == [(2, 4), (7, 7)]
    assert segments_from_spans(text, spans) == segments_from_spans(text, [(2, 4)])
