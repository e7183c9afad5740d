"""SentencePiece (LLaMA-2, Mistral-7B, T5/XLM-R): models as data, extension with pieces, BPE and Unigram learners.

Nothing is imported here, so importing a module below stays as cheap as that module; the
``sentencepiece`` distribution itself is imported only where a model is read or trained.
"""
