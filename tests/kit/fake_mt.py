"""A deterministic fake MT backend for engine and CLI tests (no model, instant, scriptable failures).

It "translates" by transliterating Latin letters to Cyrillic, so outputs look Russian to the checks.
Scripted behaviour: a segment containing ``LOOP`` comes out as a repetition loop with greedy decoding
but is fine with beam search (what the engine's retry does); ``BROKEN`` is a loop whatever the decoding.
"""

from __future__ import annotations

import types
from collections.abc import Sequence

from ru_llm.core import hookimpl
from ru_llm.translate.backends import Decoding, LoadedTranslator, Translation, TranslatorBackend

_LATIN = "abcdefghijklmnopqrstuvwxyz"
_CYRILLIC = "абцдефгхийклмнопкрстуввжыз"
TABLE = str.maketrans(_LATIN + _LATIN.upper(), _CYRILLIC + _CYRILLIC.upper())


class FakeLoaded(LoadedTranslator):
    max_input_tokens = 64
    max_output_tokens = None

    def __init__(self, model: str) -> None:
        self.model_id = model
        self.calls: list[tuple[int, Decoding]] = []  # (batch size, decoding) per translate() call
        self.closed = False

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [max(1, len(t.split())) for t in texts]

    def translate(self, texts: Sequence[str], decoding: Decoding) -> list[Translation]:
        self.calls.append((len(texts), decoding))
        out = []
        for text in texts:
            if "BROKEN" in text or ("LOOP" in text and decoding.num_beams == 1):
                out.append(Translation("ла " * 200, hit_cap=True))
            else:
                out.append(Translation(text.translate(TABLE)))
        return out

    def close(self) -> None:
        self.closed = True


class FakeBackend(TranslatorBackend):
    name = "fake"
    description = "transliterating test backend"
    default_model = "fake-model"
    model_license = "CC0-1.0"

    def __init__(self) -> None:
        self.loaded: list[FakeLoaded] = []

    def load(self, model: str | None = None, **options: object) -> FakeLoaded:
        loaded = FakeLoaded(model or self.default_model)
        self.loaded.append(loaded)
        return loaded


def register_fake(pm) -> FakeBackend:
    backend = FakeBackend()
    module = types.ModuleType("fake_mt")
    module.register_translators = hookimpl(lambda register: register(backend))
    pm.register(module, name="fake_mt")
    return backend
