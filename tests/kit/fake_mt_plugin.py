"""The fake MT backend as an entry-point plugin, for CLI runs in a subprocess (see kit.fake_mt).

``FAKE_MT_DELAY`` (seconds per translated batch) makes runs slow enough to be killed mid-way.
"""

from __future__ import annotations

import os
import time

from kit.fake_mt import FakeBackend, FakeLoaded

from ru_llm.core import hookimpl


class SlowLoaded(FakeLoaded):
    def translate(self, texts, decoding):
        time.sleep(float(os.environ.get("FAKE_MT_DELAY", "0")))
        return super().translate(texts, decoding)


class SlowBackend(FakeBackend):
    def load(self, model=None, **options):
        return SlowLoaded(model or self.default_model)


@hookimpl
def register_translators(register):
    register(SlowBackend())
