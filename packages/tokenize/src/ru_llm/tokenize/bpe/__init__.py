"""Byte-level BPE (Qwen2/2.5/3, LLaMA-3, Mistral-Nemo): extend with merges, learn a whole vocabulary, optimise.

Nothing is imported here, so importing a module below stays as cheap as that module.
"""
