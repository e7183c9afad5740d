"""The run's chat template: resolved by name (or the model family's default) and checked against the tokenizer."""

from __future__ import annotations

import re
from typing import Any

from ru_llm.core.errors import ConfigError, RuLLMError
from ru_llm.core.families import ModelFamily
from ru_llm.train.config import RunConfig

# Control tokens written literally by chat templates; each must be one token of the tokenizer, or the
# model would learn to spell them. (<s>, </s> and [INST] are left out: LLaMA-2, Mistral v0.1 and the
# paper's human_assistant format write them as plain text where the tokenizer has no such token.)
_TEMPLATE_SPECIAL = re.compile(r"<\|[^|<>\s]{1,40}\|>|<(?:start|end)_of_turn>")


def resolve_run_template(config: RunConfig, family: ModelFamily, tokenizer: Any) -> Any:
    """``config.template`` (default: the family's), resolved for this tokenizer and checked against it."""
    from ru_llm.dataset.templates.hf import resolve_template

    template = resolve_template(config.template or family.default_template, tokenizer)
    check_template_tokens(template, tokenizer)
    return template


def check_template_tokens(template: Any, tokenizer: Any) -> None:
    """The template's literal special tokens must be single tokens of this tokenizer."""
    from ru_llm.core.conversation import conversation

    probe = conversation("probe", [("system", "s"), ("user", "u"), ("assistant", "a")])
    try:
        text = "".join(s.text for s in template.render(probe))
    except RuLLMError:  # a template without system messages
        text = "".join(s.text for s in template.render(conversation("probe", [("user", "u"), ("assistant", "a")])))
    for token in sorted(set(_TEMPLATE_SPECIAL.findall(text))):
        if len(tokenizer(token, add_special_tokens=False)["input_ids"]) != 1:
            raise ConfigError(
                f"template {template.name!r} writes {token!r}, which this tokenizer does not know as one token",
                hint="pick the template made for this model (`ru-llm models` shows each family's default)",
            )
