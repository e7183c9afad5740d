"""Checks that need the model's shape or the trainer's own validation, run before the output directory
is touched: a mistake found after the first write would leave a half-made run behind.

Both checks are cheap: the model is built on PyTorch's ``meta`` device (its modules, no weights), and
the trainer's arguments are validated by constructing them, which loads nothing.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError, first_line
from ru_llm.core.families import ModelFamily
from ru_llm.train.config import RunConfig
from ru_llm.train.strategy import TrainerStrategy

log = logging.getLogger(__name__)


def check_strategy_on_skeleton(
    config: RunConfig, strategy: TrainerStrategy, family: ModelFamily, model_config: Any
) -> None:
    """Run the strategy's ``prepare`` on a weightless copy of the model, so that settings naming the
    model's modules (``lora.target_modules``, ``lora.layers``, ``modules_to_save``) fail now.

    Only :class:`ConfigError` counts: anything else the skeleton cannot do (a quantised base, code of
    the model's own) is left to the real load, which reports it.
    """
    import torch
    from transformers import AutoModelForCausalLM

    try:
        with torch.device("meta"):
            skeleton = AutoModelForCausalLM.from_config(model_config, trust_remote_code=config.trust_remote_code)
    except Exception as e:  # a model transformers cannot build from its config alone
        log.debug("preflight: no skeleton of %s: %s", config.model, first_line(e))
        return
    try:
        with warnings.catch_warnings():  # the real run warns about the real model; once is enough
            warnings.simplefilter("ignore")
            strategy.prepare(skeleton, config, family)
    except ConfigError:
        raise
    except Exception as e:
        log.debug("preflight: %s.prepare on a skeleton: %s", strategy.name, first_line(e))


def check_trainer_arguments(config: RunConfig, strategy: TrainerStrategy, out: Path, has_validation: bool) -> None:
    """Construct the trainer's arguments once, so that transformers' own validation (scheduler names,
    strategies, value ranges) speaks before anything is written.

    The strategy's extra values that plain ``TrainingArguments`` does not know (TRL's ``beta``, ...) are
    left out (the strategy's settings validate them); so is ``deepspeed``, whose setup is not free.
    """
    import dataclasses

    from transformers import TrainingArguments

    from ru_llm.train.arguments import run_argument_values

    known = {f.name for f in dataclasses.fields(TrainingArguments)}
    values = run_argument_values(config, out, has_validation)
    values.update({k: v for k, v in strategy.trainer_arguments(config, out).items() if k in known})
    values.pop("deepspeed", None)
    try:
        TrainingArguments(**values)
    except (ValueError, TypeError, ImportError) as e:
        raise ConfigError(f"the trainer refused the settings: {first_line(e)}") from None
