"""The built-in chat formats, each written twice: a Python renderer and the same format as Jinja.

The two must agree byte for byte (tests/dataset/test_templates_jinja.py renders many conversations
both ways). Special tokens are written as literals, not ``bos_token``/``eos_token``, so an exported
template renders the same text whatever tokenizer it is saved with.
"""

from __future__ import annotations

import json
from typing import ClassVar

from ru_llm.core.conversation import Conversation, Message
from ru_llm.core.errors import RecordError
from ru_llm.dataset.templates import Segment

SAIGA_SYSTEM = "Ты русскоязычный автоматический ассистент. Ты разговариваешь с людьми и помогаешь им."
QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def jinja_literal(text: str) -> str:
    """``text`` as a Jinja string literal (JSON's escapes are a subset of Jinja's)."""
    return json.dumps(text, ensure_ascii=True)


class _Segments(list[Segment]):
    """Segments that merge with a neighbour of the same kind; empty texts are dropped."""

    def add(self, text: str, trainable: bool = False) -> None:
        if not text:
            return
        if self and self[-1].trainable == trainable:
            self[-1] = Segment(self[-1].text + text, trainable)
        else:
            self.append(Segment(text, trainable))


class ChatFormat:
    """Shared plumbing: ``render_prompt`` is the rendered conversation plus ``generation_prompt``."""

    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    generation_prompt: str = ""

    def render(self, conversation: Conversation) -> list[Segment]:
        segments = _Segments()
        self._render(conversation, segments)
        return list(segments)

    def render_prompt(self, conversation: Conversation) -> str:
        return "".join(s.text for s in self.render(conversation)) + self.generation_prompt

    def chat_template(self) -> str:
        """This format as a Jinja ``chat_template`` with ``{% generation %}`` around trainable text.

        The training variant; ``jinja.export_chat_template`` gives the serving one without markers.
        """
        raise NotImplementedError

    def _render(self, conversation: Conversation, out: _Segments) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class HumanAssistant(ChatFormat):
    """The paper's full fine-tuning format: ``<s> Human:\\n{user}\\nAssistant:\\n{assistant} </endoftext>``.

    Turns are joined by ``\\n``; a system message becomes a ``System:\\n{system}`` turn where it stands.
    """

    name = "human_assistant"
    description = "paper's full fine-tuning format: <s> Human:/Assistant: … </endoftext>"
    generation_prompt = "\nAssistant:\n"
    _labels: ClassVar[dict[str, str]] = {"system": "System", "user": "Human", "assistant": "Assistant"}

    def _render(self, conversation: Conversation, out: _Segments) -> None:
        out.add("<s> ")
        for i, message in enumerate(conversation.messages):
            if i:
                out.add("\n")
            out.add(f"{self._labels[message.role]}:\n")
            if message.role == "assistant":
                out.add(message.content + " </endoftext>", True)
            else:
                out.add(message.content)

    def chat_template(self) -> str:
        return r"""{{- '<s> ' }}
{%- for message in messages %}
    {%- if not loop.first %}
        {{- '\n' }}
    {%- endif %}
    {%- if message['role'] == 'assistant' %}
        {{- 'Assistant:\n' }}
        {%- generation %}
            {{- message['content'] + ' </endoftext>' }}
        {%- endgeneration %}
    {%- elif message['role'] == 'user' %}
        {{- 'Human:\n' + message['content'] }}
    {%- elif message['role'] == 'system' %}
        {{- 'System:\n' + message['content'] }}
    {%- else %}
        {{- raise_exception('human_assistant: unknown role ' + message['role']) }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '\nAssistant:\n' }}
{%- endif %}
"""


class Saiga(ChatFormat):
    """The paper's LoRA format: ``<s> {role}\\n{content} </s>`` per message (roles system/user/bot), joined by ``\\n``.

    A conversation that does not open with a system message gets ``default_system``.
    """

    name = "saiga"
    description = "paper's LoRA format: <s> system/user/bot … </s>, default Russian system prompt"
    generation_prompt = "\n<s> bot\n"
    _roles: ClassVar[dict[str, str]] = {"system": "system", "user": "user", "assistant": "bot"}

    def __init__(self, default_system: str = SAIGA_SYSTEM) -> None:
        self.default_system = default_system

    def _render(self, conversation: Conversation, out: _Segments) -> None:
        messages = list(conversation.messages)
        if messages[0].role != "system":
            messages.insert(0, Message("system", self.default_system))
        for i, message in enumerate(messages):
            if i:
                out.add("\n")
            out.add(f"<s> {self._roles[message.role]}\n")
            out.add(message.content + " </s>", message.role == "assistant")

    def chat_template(self) -> str:
        return (
            r"""{%- if messages[0]['role'] != 'system' %}
    {{- '<s> system\n' + """
            + jinja_literal(self.default_system)
            + r""" + ' </s>' }}
{%- endif %}
{%- for message in messages %}
    {%- if not loop.first or messages[0]['role'] != 'system' %}
        {{- '\n' }}
    {%- endif %}
    {%- if message['role'] == 'assistant' %}
        {{- '<s> bot\n' }}
        {%- generation %}
            {{- message['content'] + ' </s>' }}
        {%- endgeneration %}
    {%- elif message['role'] in ('system', 'user') %}
        {{- '<s> ' + message['role'] + '\n' + message['content'] + ' </s>' }}
    {%- else %}
        {{- raise_exception('saiga: unknown role ' + message['role']) }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '\n<s> bot\n' }}
{%- endif %}
"""
        )


class ChatML(ChatFormat):
    """``<|im_start|>{role}\\n{content}<|im_end|>\\n`` per message (Qwen); system messages stay where they are.

    With ``default_system``, a conversation that does not open with a system message gets one, as
    Qwen2.5's official template does.
    """

    generation_prompt = "<|im_start|>assistant\n"

    def __init__(self, name: str = "chatml", default_system: str | None = None, description: str = "") -> None:
        self.name = name
        self.default_system = default_system
        self.description = description or "ChatML (Qwen): <|im_start|>role … <|im_end|>"

    def _render(self, conversation: Conversation, out: _Segments) -> None:
        if self.default_system is not None and conversation.messages[0].role != "system":
            out.add(f"<|im_start|>system\n{self.default_system}<|im_end|>\n")
        for message in conversation.messages:
            out.add(f"<|im_start|>{message.role}\n")
            if message.role == "assistant":
                out.add(message.content + "<|im_end|>", True)
                out.add("\n")
            else:
                out.add(message.content + "<|im_end|>\n")

    def chat_template(self) -> str:
        default = ""
        if self.default_system is not None:
            default = (
                "{%- if messages[0]['role'] != 'system' %}\n"
                "    {{- '<|im_start|>system\\n' + " + jinja_literal(self.default_system) + " + '<|im_end|>\\n' }}\n"
                "{%- endif %}\n"
            )
        return (
            default
            + r"""{%- for message in messages %}
    {%- if message['role'] == 'assistant' %}
        {{- '<|im_start|>assistant\n' }}
        {%- generation %}
            {{- message['content'] + '<|im_end|>' }}
        {%- endgeneration %}
        {{- '\n' }}
    {%- else %}
        {{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""
        )


class Llama3(ChatFormat):
    """Llama 3: ``<|begin_of_text|>``, then ``<|start_header_id|>{role}<|end_header_id|>\\n\\n{content}<|eot_id|>``.

    Content is stripped, as Meta's template does. Unlike Llama 3.1's template there is no system
    header with "Cutting Knowledge Date"/"Today Date" lines; system messages stay where they are.
    """

    name = "llama3"
    description = "Llama 3 headers and <|eot_id|> (no 3.1 date lines)"
    generation_prompt = "<|start_header_id|>assistant<|end_header_id|>\n\n"

    def _render(self, conversation: Conversation, out: _Segments) -> None:
        out.add("<|begin_of_text|>")
        for message in conversation.messages:
            out.add(f"<|start_header_id|>{message.role}<|end_header_id|>\n\n")
            out.add(message.content.strip() + "<|eot_id|>", message.role == "assistant")

    def chat_template(self) -> str:
        return r"""{{- '<|begin_of_text|>' }}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}
    {%- if message['role'] == 'assistant' %}
        {%- generation %}
            {{- message['content'] | trim + '<|eot_id|>' }}
        {%- endgeneration %}
    {%- else %}
        {{- message['content'] | trim + '<|eot_id|>' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
"""


def _leading_system(conversation: Conversation, template: str) -> tuple[str | None, list[Message]]:
    """Split off an opening system message, for formats that fold it into the first user turn."""
    messages = list(conversation.messages)
    system = messages.pop(0).content if messages[0].role == "system" else None
    if system is not None and (not messages or messages[0].role != "user"):
        raise RecordError(
            f"the {template} template needs a user turn right after the system message",
            record_id=conversation.id,
            hint="put the system prompt before a user turn",
        )
    if any(m.role == "system" for m in messages):
        raise RecordError(
            f"the {template} template has room for a system message only at the start",
            record_id=conversation.id,
            hint="merge later system messages into the user turns, or use chatml/llama3/saiga",
        )
    return system, messages


_FOLD_ERRORS = r"""{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set system_message = none %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- if system_message is not none and (loop_messages | length == 0 or loop_messages[0]['role'] != 'user') %}
    {{- raise_exception('the TEMPLATE template needs a user turn right after the system message') }}
{%- endif %}
{%- for message in loop_messages %}
    {%- if message['role'] == 'system' %}
        {{- raise_exception('the TEMPLATE template has room for a system message only at the start') }}
    {%- endif %}
{%- endfor %}
"""


class Llama2(ChatFormat):
    """Llama-2-chat: ``<s>[INST] {user} [/INST] {assistant} </s>`` per exchange, as Meta's template.

    The system prompt goes inside the first ``[INST]`` as ``<<SYS>>\\n{system}\\n<</SYS>>\\n\\n``;
    content is stripped. A system message anywhere else is a :class:`RecordError`.
    """

    name = "llama2"
    description = "Llama-2-chat: <s>[INST] <<SYS>> … [/INST] … </s>"

    def _render(self, conversation: Conversation, out: _Segments) -> None:
        system, messages = _leading_system(conversation, self.name)
        for i, message in enumerate(messages):
            if message.role == "user":
                content = message.content
                if i == 0 and system is not None:
                    content = f"<<SYS>>\n{system}\n<</SYS>>\n\n{content}"
                out.add(f"<s>[INST] {content.strip()} [/INST]")
            else:
                out.add(f" {message.content.strip()} </s>", True)

    def chat_template(self) -> str:
        return _FOLD_ERRORS.replace("TEMPLATE", self.name) + (
            r"""{%- for message in loop_messages %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is not none %}
            {%- set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}
        {%- else %}
            {%- set content = message['content'] %}
        {%- endif %}
        {{- '<s>[INST] ' + content | trim + ' [/INST]' }}
    {%- else %}
        {%- generation %}
            {{- ' ' + message['content'] | trim + ' </s>' }}
        {%- endgeneration %}
    {%- endif %}
{%- endfor %}
"""
        )


class Mistral(ChatFormat):
    """Mistral-Instruct as Mistral-Nemo's official template (v3 tekken): ``<s>[INST]{user}[/INST]{assistant}</s>``.

    Content is kept as is. The system prompt goes before the *last* user message, separated by a
    blank line, as in Mistral's own tokenizer (mistral-common) and official templates, so a training
    conversation carries it where the model is served it. (The official Jinja shows it only when that
    user message ends the list, the generation prompt; it drops it from a conversation that ends on a
    reply, so the texts agree byte for byte exactly where a model is served.) Turns must alternate
    user/assistant from a user turn, as the official template requires; a system message anywhere
    but first is a :class:`RecordError`.
    """

    name = "mistral"
    description = "Mistral-Nemo (v3 tekken): <s>[INST]…[/INST]…</s>; system before the last user turn"

    def _render(self, conversation: Conversation, out: _Segments) -> None:
        system, messages = _leading_system(conversation, self.name)
        for i, message in enumerate(messages):
            if (message.role == "user") != (i % 2 == 0):
                raise RecordError(
                    "the mistral template needs turns alternating user/assistant, starting with the user",
                    record_id=conversation.id,
                    hint="merge consecutive turns of one role, or use chatml/llama3/saiga",
                )
        last_user = (len(messages) - 1) // 2 * 2
        out.add("<s>")
        for i, message in enumerate(messages):
            if message.role == "user":
                content = message.content
                if i == last_user and system is not None:
                    content = f"{system}\n\n{content}"
                out.add(f"[INST]{content}[/INST]")
            else:
                out.add(message.content + "</s>", True)

    def chat_template(self) -> str:
        return _FOLD_ERRORS.replace("TEMPLATE", self.name) + (
            r"""{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('the mistral template needs turns alternating user/assistant, starting with the user') }}
    {%- endif %}
{%- endfor %}
{%- set last_user = (loop_messages | length - 1) // 2 * 2 %}
{{- '<s>' }}
{%- for message in loop_messages %}
    {%- if message['role'] == 'user' %}
        {%- if loop.index0 == last_user and system_message is not none %}
            {{- '[INST]' + system_message + '\n\n' + message['content'] + '[/INST]' }}
        {%- else %}
            {{- '[INST]' + message['content'] + '[/INST]' }}
        {%- endif %}
    {%- else %}
        {%- generation %}
            {{- message['content'] + '</s>' }}
        {%- endgeneration %}
    {%- endif %}
{%- endfor %}
"""
        )
