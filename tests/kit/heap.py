"""Keep Python's garbage collector off the objects that live for the whole test run.

transformers' ``Trainer`` starts every training loop with accelerate's ``free_memory()``, a full
``gc.collect()``. Once torch, transformers, peft and TRL are imported that walks ~600,000 objects that
live until the process ends: 0.4-0.7 s a run, paid by every training run in the suite.
``gc.freeze()`` moves what exists into a generation the collector skips. The root conftest calls
:func:`freeze_what_lives` as each test module starts: a collection first frees the garbage the last
module left (its fixtures are torn down by then), then what is still alive (imports, session fixtures)
is frozen, so each later full collection walks only what was created since. Objects the tests create
are collected as before, and nothing a test checks depends on the collector.
"""

from __future__ import annotations


def freeze_what_lives() -> None:
    """Collect the garbage there is, then freeze the survivors out of later collections."""
    import gc

    gc.collect()  # walks only what is not frozen yet: everything at the first call, then one module's leftovers
    gc.freeze()
