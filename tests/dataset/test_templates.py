"""Built-in templates: exact text, what is trained, system and multi-turn handling, official templates."""

from __future__ import annotations

import pytest
from conftest import REPO

from ru_llm.core import ConfigError, RecordError, conversation
from ru_llm.dataset import get_template, render_text, templates
from ru_llm.dataset.templates import Segment, Template, resolve_template
from ru_llm.dataset.templates.formats import SAIGA_SYSTEM
from ru_llm.dataset.templates.jinja import message_dicts, render_chat_template

OFFICIAL = REPO / "tests" / "data" / "chat_templates"
BUILTINS = ("human_assistant", "saiga", "chatml", "qwen2.5", "llama2", "llama3", "mistral")

SYS = conversation("c1", [("system", "Будь краток."), ("user", "Привет"), ("assistant", "Здравствуйте!")])
TWO_TURNS = conversation(
    "c2", [("user", "Привет"), ("assistant", "Здравствуйте!"), ("user", "Как дела?"), ("assistant", "Хорошо.")]
)


def trained(template: Template, conv) -> list[str]:
    return [s.text for s in template.render(conv) if s.trainable]


def test_every_builtin_is_registered_through_the_hook() -> None:
    registry = templates()
    assert set(BUILTINS) | {"hf"} <= set(registry.names())
    for name in BUILTINS:
        assert registry.entry(name).plugin == "ru_llm.dataset.templates.builtin"
        assert isinstance(registry.get(name), Template)


def test_human_assistant_is_the_papers_full_finetuning_format() -> None:
    t = get_template("human_assistant")
    single = conversation("x", [("user", "Привет"), ("assistant", "Здравствуйте!")])
    assert render_text(t, single) == "<s> Human:\nПривет\nAssistant:\nЗдравствуйте! </endoftext>"
    assert render_text(t, TWO_TURNS) == (
        "<s> Human:\nПривет\nAssistant:\nЗдравствуйте! </endoftext>\n"
        "Human:\nКак дела?\nAssistant:\nХорошо. </endoftext>"
    )
    assert trained(t, TWO_TURNS) == ["Здравствуйте! </endoftext>", "Хорошо. </endoftext>"]
    assert render_text(t, SYS).startswith("<s> System:\nБудь краток.\nHuman:\nПривет\n")
    assert t.render_prompt(conversation("p", [("user", "Вопрос")])) == "<s> Human:\nВопрос\nAssistant:\n"


def test_saiga_is_the_papers_lora_format_with_a_default_system_prompt() -> None:
    t = get_template("saiga")
    assert render_text(t, TWO_TURNS) == (
        f"<s> system\n{SAIGA_SYSTEM} </s>\n<s> user\nПривет </s>\n<s> bot\nЗдравствуйте! </s>\n"
        "<s> user\nКак дела? </s>\n<s> bot\nХорошо. </s>"
    )
    assert render_text(t, SYS) == "<s> system\nБудь краток. </s>\n<s> user\nПривет </s>\n<s> bot\nЗдравствуйте! </s>"
    assert trained(t, SYS) == ["Здравствуйте! </s>"]
    assert t.render_prompt(conversation("p", [("system", "S"), ("user", "U")])) == (
        "<s> system\nS </s>\n<s> user\nU </s>\n<s> bot\n"
    )


def test_chatml_keeps_every_message_and_trains_the_reply_with_im_end() -> None:
    t = get_template("chatml")
    assert t.render(SYS) == [
        Segment("<|im_start|>system\nБудь краток.<|im_end|>\n<|im_start|>user\nПривет<|im_end|>\n"
                "<|im_start|>assistant\n", False),
        Segment("Здравствуйте!<|im_end|>", True),
        Segment("\n", False),
    ]  # fmt: skip
    no_system = render_text(t, TWO_TURNS)
    assert no_system.startswith("<|im_start|>user\n") and no_system.count("<|im_start|>assistant\n") == 2
    assert t.render_prompt(TWO_TURNS).endswith("Хорошо.<|im_end|>\n<|im_start|>assistant\n")


def test_llama2_puts_the_system_prompt_in_the_first_inst() -> None:
    t = get_template("llama2")
    assert render_text(t, SYS) == "<s>[INST] <<SYS>>\nБудь краток.\n<</SYS>>\n\nПривет [/INST] Здравствуйте! </s>"
    assert (
        render_text(t, TWO_TURNS)
        == "<s>[INST] Привет [/INST] Здравствуйте! </s><s>[INST] Как дела? [/INST] Хорошо. </s>"
    )
    assert trained(t, TWO_TURNS) == [" Здравствуйте! </s>", " Хорошо. </s>"]
    assert t.render_prompt(conversation("p", [("user", "Вопрос")])) == "<s>[INST] Вопрос [/INST]"


def test_mistral_folds_the_system_prompt_into_the_last_user_turn() -> None:
    t = get_template("mistral")  # Mistral-Nemo's format (tests/dataset/test_templates_serving.py compares)
    assert render_text(t, SYS) == "<s>[INST]Будь краток.\n\nПривет[/INST]Здравствуйте!</s>"
    assert render_text(t, TWO_TURNS) == "<s>[INST]Привет[/INST]Здравствуйте!</s>[INST]Как дела?[/INST]Хорошо.</s>"
    assert trained(t, TWO_TURNS) == ["Здравствуйте!</s>", "Хорошо.</s>"]


def test_llama3_strips_content_and_trains_eot() -> None:
    t = get_template("llama3")
    conv = conversation("x", [("user", "  Привет \n"), ("assistant", " Здравствуйте!\n")])
    assert render_text(t, conv) == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nПривет<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nЗдравствуйте!<|eot_id|>"
    )
    assert trained(t, conv) == ["Здравствуйте!<|eot_id|>"]
    assert t.render_prompt(conv).endswith("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")


@pytest.mark.parametrize("name", ["llama2", "mistral"])
def test_folding_formats_refuse_a_system_message_they_cannot_place(name: str) -> None:
    t = get_template(name)
    late = conversation("late", [("user", "a"), ("assistant", "b"), ("system", "c"), ("user", "d")])
    with pytest.raises(RecordError, match="only at the start") as info:
        t.render(late)
    assert info.value.record_id == "late"
    with pytest.raises(RecordError, match="user turn right after the system"):
        t.render(conversation("s", [("system", "a"), ("assistant", "b")]))


@pytest.mark.parametrize("name", ["chatml", "llama3", "saiga", "human_assistant"])
def test_in_place_formats_keep_a_late_system_message(name: str) -> None:
    t = get_template(name)
    late = conversation("late", [("user", "a"), ("assistant", "b"), ("system", "Новое правило"), ("user", "d")])
    assert "Новое правило" in render_text(t, late)


def official(name: str, conv, **variables) -> str:
    source = (OFFICIAL / name).read_text(encoding="utf-8")
    return render_chat_template(source, message_dicts(conv), **variables)[0]


CONVERSATIONS_WITH_SYSTEM = [
    SYS,
    conversation(
        "m",
        [("system", "Ты помощник."), ("user", "Привет"), ("assistant", "Да"), ("user", "Ещё <s> [INST]"),
         ("assistant", "</s> ок"), ("user", "🦀 ё\nстрока")],
    ),
    conversation("e", [("system", ""), ("user", ""), ("assistant", "")]),
]  # fmt: skip


@pytest.mark.parametrize("conv", CONVERSATIONS_WITH_SYSTEM, ids=lambda c: c.id)
def test_chatml_is_byte_identical_to_qwen25_with_a_system_message(conv) -> None:
    expected = official("Qwen-Qwen2.5-7B-Instruct.jinja", conv)
    assert render_text(get_template("chatml"), conv) == expected
    prompt = official("Qwen-Qwen2.5-7B-Instruct.jinja", conv, add_generation_prompt=True)
    assert get_template("chatml").render_prompt(conv) == prompt


def test_qwen25_template_matches_the_official_one_without_a_system_message_too() -> None:
    assert render_text(get_template("qwen2.5"), TWO_TURNS) == official("Qwen-Qwen2.5-7B-Instruct.jinja", TWO_TURNS)
    assert render_text(get_template("chatml"), TWO_TURNS) != official("Qwen-Qwen2.5-7B-Instruct.jinja", TWO_TURNS)


LLAMA31_DATE = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"


@pytest.mark.parametrize("conv", CONVERSATIONS_WITH_SYSTEM, ids=lambda c: c.id)
def test_llama3_is_llama31_without_its_date_lines(conv) -> None:
    expected = official("meta-llama-Llama-3.1-8B-Instruct.jinja", conv, bos_token="<|begin_of_text|>")
    assert LLAMA31_DATE in expected  # the only extra of the official template
    assert render_text(get_template("llama3"), conv) == expected.replace(LLAMA31_DATE, "", 1)


def test_hf_needs_a_tokenizer() -> None:
    with pytest.raises(ConfigError, match="needs a tokenizer"):
        resolve_template("hf")
    with pytest.raises(ConfigError, match="needs a tokenizer"):
        get_template("hf").render(SYS)
    assert resolve_template("chatml", tokenizer=object()) is get_template("chatml")


def test_hf_refuses_a_tokenizer_without_a_chat_template() -> None:
    class NoTemplate:
        chat_template = None

    with pytest.raises(ConfigError, match="no chat_template"):
        resolve_template("hf", NoTemplate())


def test_hf_finds_replies_by_prefix_rendering_of_the_official_qwen_template(real_tokenizer) -> None:
    hf = resolve_template("hf", real_tokenizer("qwen2.5"))
    for conv in (SYS, TWO_TURNS):
        assert hf.render(conv) == get_template("qwen2.5").render(conv)
        assert hf.render_prompt(conv) == get_template("qwen2.5").render_prompt(conv)


def test_hf_uses_generation_markers_when_the_template_has_them(real_tokenizer) -> None:
    class Tok:
        chat_template = get_template("saiga").chat_template()
        eos_token = "</s>"

    hf = resolve_template("hf", Tok())
    assert hf.render(TWO_TURNS) == get_template("saiga").render(TWO_TURNS)


def test_hf_with_llama31_trains_the_same_text_as_llama3(real_tokenizer) -> None:
    hf = resolve_template("hf", real_tokenizer("llama3"))
    assert trained(hf, TWO_TURNS) == trained(get_template("llama3"), TWO_TURNS)
    assert render_text(hf, SYS) == official(
        "meta-llama-Llama-3.1-8B-Instruct.jinja", SYS, bos_token="<|begin_of_text|>"
    )


def test_hf_reports_a_template_error_as_a_record_error() -> None:
    class Tok:
        chat_template = "{{ raise_exception('no system here') }}"

    with pytest.raises(RecordError, match="no system here") as info:
        resolve_template("hf", Tok()).render(SYS)
    assert info.value.record_id == "c1"
