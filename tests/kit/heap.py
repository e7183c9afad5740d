"""Keep Python's garbage collector off the imported training stack while a test module trains.

transformers' ``Trainer`` starts every training loop with accelerate's ``free_memory()``, a full
``gc.collect()``. After torch, transformers, peft and TRL are imported that walks ~600,000 objects that
live until the process ends: 0.4-0.7 s a run, so a module of a dozen tiny runs spends seconds in it.
``gc.freeze()`` moves what exists into a generation the collector skips; the objects the tests create
are still collected as before, and nothing a test checks depends on the collector. Module-scoped:
the frozen objects are handed back (``gc.unfreeze``) when the module's tests are done.
"""

from __future__ import annotations

from collections.abc import Iterator

# What a DPO/LoRA training run imports on its way in: imported here, so their objects are frozen too.
TRAINING_STACK = (
    "torch",
    "transformers.trainer",
    "transformers.models.llama.modeling_llama",
    "peft",
    "trl.trainer.dpo_trainer",
    "datasets",
    "ru_llm.train.run",
    "ru_llm.train.trainer",
)


def frozen_heap(modules: tuple[str, ...] = TRAINING_STACK) -> Iterator[None]:
    """Import ``modules``, collect once, freeze what is left; unfreeze afterwards (a fixture's body)."""
    import gc
    import importlib

    for name in modules:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
