"""The one place that silences third-party output a user cannot act on, each item with why.

``ru-llm`` calls :func:`quiet_third_party` before any command runs; ``-v`` / ``RU_LLM_VERBOSE=1`` skips it,
so everything the libraries say is shown again. Our own progress bars (rich) replace the libraries' tqdm
bars, which would interleave with them; machine-readable output and real warnings are untouched.
"""

from __future__ import annotations

import logging
import os
import warnings

#: environment defaults (a value the user set wins): (variable, value, why)
QUIET_ENV = (
    ("HF_HUB_DISABLE_PROGRESS_BARS", "1",
     "transformers' and huggingface_hub's tqdm bars ('Loading weights', 'Writing model shards') between our rich bars"),
    ("HF_DATASETS_DISABLE_PROGRESS_BARS", "1", "datasets' tqdm bars for every map/filter/load, same reason"),
    ("TOKENIZERS_PARALLELISM", "false",
     "the tokenizers fork warning printed when a DataLoader starts, which our single-process loaders never risk"),
)  # fmt: skip

#: warnings filtered out: (category, message regex, why)
QUIET_WARNINGS = (
    (FutureWarning, r"`(is_)?gradient_checkpointing\w*` is deprecated",
     "transformers 5 renamed gradient checkpointing; peft and TRL still call the old names on every run"),
    (UserWarning, r"Setting `save_embedding_layers` to `True`",
     "peft announces that a trained embedding is saved with the adapter, which is what training it means"),
)  # fmt: skip

#: log records dropped: (logger, message prefix, why)
QUIET_LOGS = (
    ("bitsandbytes.backends.cpu.ops", "Failed to load CPU gemm_4bit_forward from kernels-community",
     "bitsandbytes' optional Hub-downloaded CPU kernel is missing; it uses its own kernel instead"),
)  # fmt: skip


class _DropPrefix(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


def verbose_requested() -> bool:
    return os.environ.get("RU_LLM_VERBOSE", "").strip().lower() in {"1", "true", "yes", "on"}


def quiet_third_party(*, verbose: bool | None = None) -> None:
    """Apply :data:`QUIET_ENV`, :data:`QUIET_WARNINGS` and :data:`QUIET_LOGS` (nothing when verbose)."""
    if verbose if verbose is not None else verbose_requested():
        return
    for variable, value, _ in QUIET_ENV:
        os.environ.setdefault(variable, value)
    for category, message, _ in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name, prefix, _ in QUIET_LOGS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropPrefix) and f.prefix == prefix for f in logger.filters):
            logger.addFilter(_DropPrefix(prefix))
