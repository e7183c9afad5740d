"""Serving chat templates (issue 13): what is saved into a tokenizer has no ``{% generation %}`` tag,
which plain Jinja2 and minijinja (TGI, mistral.rs) reject, and renders our text byte for byte; the
marked variant stays for training masks. And ``mistral`` is Mistral-Nemo's official template."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import jinja2
import pytest
from conftest import REPO

from ru_llm.core import Conversation, RecordError, conversation
from ru_llm.dataset import get_template, render_text
from ru_llm.dataset.templates import (
    export_chat_template,
    export_training_chat_template,
    save_chat_template,
    strip_generation_markers,
)
from ru_llm.dataset.templates.jinja import compile_chat_template, message_dicts, render_chat_template

BUILTINS = ("human_assistant", "saiga", "chatml", "qwen2.5", "llama2", "llama3", "mistral")
NEMO = REPO / "tests" / "data" / "chat_templates" / "mistralai-Mistral-Nemo-Instruct-2407.jinja"
TEXTS = ["Привет", "Объясни LoRA.\nКоротко.", "", "  края \n", "<s>", "[INST] x [/INST]", "'кавычки' \"и\" \\", "🦀 ё"]


def raise_exception(message: str) -> None:  # what transformers (and TGI, mistral.rs) give templates
    raise jinja2.exceptions.TemplateError(message)


def plain(**settings: bool) -> jinja2.Environment:
    """A bare Jinja2 environment: no sandbox and no extension, ``raise_exception`` only."""
    env = jinja2.Environment(**settings)
    env.globals["raise_exception"] = raise_exception
    return env


ENVIRONMENTS = {"jinja2 defaults": plain(), "transformers settings": plain(trim_blocks=True, lstrip_blocks=True)}


def conversations(n: int = 60, seed: int = 3) -> list[Conversation]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        turns = [("system", rng.choice(TEXTS))] if rng.random() < 0.5 else []
        for _ in range(rng.randint(1, 3)):
            turns += [("user", rng.choice(TEXTS)), ("assistant", rng.choice(TEXTS))]
        if rng.random() < 0.3:
            turns.append(("user", rng.choice(TEXTS)))  # a generation prompt
        out.append(conversation(f"c{i}", turns))
    return out


CONVERSATIONS = conversations()


@pytest.mark.parametrize("name", BUILTINS)
def test_plain_jinja2_rejects_the_training_template_and_renders_the_serving_one(name: str) -> None:
    template = get_template(name)
    training = export_training_chat_template(template)
    with pytest.raises(jinja2.TemplateSyntaxError, match="generation"):
        jinja2.Environment().from_string(training)
    serving = export_chat_template(template)
    assert serving == strip_generation_markers(training)
    assert "generation %}" not in serving and "endgeneration" not in serving
    for env_name, env in ENVIRONMENTS.items():
        compiled = env.from_string(serving)
        rendered = 0
        for conv in CONVERSATIONS:
            try:
                expected, prompt = render_text(template, conv), template.render_prompt(conv)
            except RecordError:
                with pytest.raises(jinja2.TemplateError):
                    compiled.render(messages=message_dicts(conv))
                continue
            assert compiled.render(messages=message_dicts(conv)) == expected, (env_name, conv.id)
            assert compiled.render(messages=message_dicts(conv), add_generation_prompt=True) == prompt, conv.id
            rendered += 1
        assert rendered > 40


@pytest.mark.parametrize("name", BUILTINS)
def test_the_training_template_keeps_the_markers_and_the_same_text(name: str) -> None:
    template = get_template(name)
    training = export_training_chat_template(template)
    assert training == export_chat_template(template, generation_markers=True) == template.chat_template()
    assert "{%- generation %}" in training
    for conv in CONVERSATIONS:
        try:
            expected = render_text(template, conv)
        except RecordError:
            continue
        text, spans = render_chat_template(training, message_dicts(conv))
        assert text == expected and spans
        assert render_chat_template(export_chat_template(template), message_dicts(conv)) == (text, [])


def test_save_chat_template_saves_the_serving_template(tmp_path: Path) -> None:
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"eos_token": "</s>"}), encoding="utf-8")
    template = get_template("saiga")
    written = save_chat_template(template, tmp_path)
    serving = written.read_text(encoding="utf-8")
    assert serving == export_chat_template(template) and "generation %}" not in serving
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config == {"eos_token": "</s>", "chat_template": serving}
    jinja2.Environment().from_string(config["chat_template"])  # what TGI-like engines do with it

    save_chat_template(template, tmp_path, generation_markers=True)  # a tokenizer for training masks only
    assert (tmp_path / "chat_template.jinja").read_text(encoding="utf-8") == template.chat_template()


@pytest.mark.parametrize(
    "source",
    [
        "{% for m in messages %}[{% generation %}{{ m['content'] }}{% endgeneration %}]{% endfor %}",
        "{% for m in messages %}\n  {% generation %}\n  <{{ m['content'] }}>\n  {% endgeneration %}\n{% endfor %}",
        "{%- for m in messages %} a {%- generation -%} {{ m['content'] }} {%- endgeneration %} b {% endfor %}",
        "{% for m in messages %}x {%+ generation +%}\n{{ m['content'] }}\n{%- endgeneration %}\n  y\n{% endfor %}",
        "{%- for m in messages %}\n    {%- generation %}\n    text {{ m['content'] }}\n    {%- endgeneration %}\n"
        "    tail\n{%- endfor %}",
    ],
)
def test_stripping_markers_keeps_the_rendered_text_whatever_their_whitespace_control(source: str) -> None:
    messages = [{"role": "assistant", "content": "one"}, {"role": "assistant", "content": " two\n"}]
    stripped = strip_generation_markers(source)
    assert "generation" not in stripped
    # transformers' settings, where the markers mean something: the same text
    assert compile_chat_template(stripped).render(messages=messages) == render_chat_template(source, messages)[0]


# -- mistral: Mistral-Nemo's official template, byte for byte ---------------------------------------------
def official_mistral(conv: Conversation) -> str:
    env = plain(trim_blocks=True, lstrip_blocks=True)  # as transformers renders it
    source = NEMO.read_text(encoding="utf-8")
    return env.from_string(source).render(messages=message_dicts(conv), bos_token="<s>", eos_token="</s>")


MISTRAL_CONVERSATIONS = [
    conversation("one", [("user", "Привет"), ("assistant", "Здравствуйте!")]),
    conversation("sys", [("system", "Будь краток."), ("user", "Привет"), ("assistant", "Здравствуйте!")]),
    conversation("sys-prompt", [("system", "Будь краток."), ("user", "Привет")]),
    conversation(
        "multi",
        [("system", "Ты помощник."), ("user", "Привет"), ("assistant", "Да"), ("user", "Ещё <s> [INST]"),
         ("assistant", "</s> ок"), ("user", "🦀 ё\nстрока")],
    ),
    conversation(
        "multi-reply", [("system", "S"), ("user", "u1"), ("assistant", "a1"), ("user", "u2"), ("assistant", "a2")]
    ),
    conversation("empty", [("system", ""), ("user", ""), ("assistant", "")]),
    *CONVERSATIONS,
]  # fmt: skip


@pytest.mark.parametrize("conv", MISTRAL_CONVERSATIONS, ids=lambda c: c.id)
def test_mistral_is_byte_identical_to_the_official_mistral_nemo_template(conv: Conversation) -> None:
    mistral = get_template("mistral")
    ours = render_text(mistral, conv)
    assert mistral.render_prompt(conv) == ours
    last = conv.messages[-1]
    if conv.messages[0].role != "system" or last.role == "user":
        # no system prompt, or a generation prompt (where a model is served): the very same bytes
        assert ours == official_mistral(conv)
    else:
        # a training conversation: the official Jinja shows the system prompt only when the last user
        # message ends the list, so it is compared there; the reply follows, as the model will write it
        prompt = Conversation(id=conv.id, messages=conv.messages[:-1])
        assert ours == official_mistral(prompt) + last.content + "</s>"
        assert conv.messages[0].content + "\n\n" + conv.messages[-2].content + "[/INST]" in ours


def test_mistral_puts_the_system_prompt_before_the_last_user_message() -> None:
    conv = MISTRAL_CONVERSATIONS[4]
    assert render_text(get_template("mistral"), conv) == "<s>[INST]u1[/INST]a1</s>[INST]S\n\nu2[/INST]a2</s>"
    assert [s.text for s in get_template("mistral").render(conv) if s.trainable] == ["a1</s>", "a2</s>"]


@pytest.mark.parametrize(
    "turns",
    [
        [("assistant", "a"), ("user", "u")],
        [("user", "u"), ("user", "v"), ("assistant", "a")],
        [("system", "s"), ("assistant", "a")],
        [("user", "u"), ("assistant", "a"), ("assistant", "b")],
    ],
)
def test_mistral_refuses_what_the_official_template_refuses(turns: list[tuple[str, str]]) -> None:
    conv = conversation("bad", turns)
    with pytest.raises(jinja2.TemplateError):
        official_mistral(conv)
    with pytest.raises(RecordError) as info:
        get_template("mistral").render(conv)
    assert info.value.record_id == "bad"
    with pytest.raises(jinja2.TemplateError):
        plain().from_string(export_chat_template(get_template("mistral"))).render(messages=message_dicts(conv))


def test_every_alternating_shape_matches_the_official_template() -> None:
    mistral = get_template("mistral")
    for system, turns in itertools.product((None, "S"), range(1, 6)):
        messages = [("system", system)] if system is not None else []
        messages += [("user" if i % 2 == 0 else "assistant", f"m{i}") for i in range(turns)]
        conv = conversation("shape", messages)
        if messages[-1][0] == "user" or system is None:
            assert render_text(mistral, conv) == official_mistral(conv), messages


@pytest.mark.parametrize("name", BUILTINS)
def test_minijinja_renders_the_serving_template(name: str) -> None:
    """What TGI and mistral.rs render with (only where the minijinja package is installed)."""
    minijinja = pytest.importorskip("minijinja")
    template = get_template(name)
    env = minijinja.Environment()
    env.add_function("raise_exception", raise_exception)
    with pytest.raises(Exception, match="generation"):
        env.render_str(export_training_chat_template(template), messages=[])
    serving = export_chat_template(template)
    for conv in CONVERSATIONS[:20]:
        try:
            expected, prompt = render_text(template, conv), template.render_prompt(conv)
        except RecordError:
            continue
        assert env.render_str(serving, messages=message_dicts(conv)) == expected, conv.id
        assert env.render_str(serving, messages=message_dicts(conv), add_generation_prompt=True) == prompt, conv.id
