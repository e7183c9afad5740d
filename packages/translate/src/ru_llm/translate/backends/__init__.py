"""MT backends: HF seq2seq (wmt21, nllb, m2m100, marian), CTranslate2, OpenAI-compatible endpoints."""

from ru_llm.translate.backends.base import RETRY, Decoding, LoadedTranslator, Translation, TranslatorBackend

__all__ = ["RETRY", "Decoding", "LoadedTranslator", "Translation", "TranslatorBackend"]
