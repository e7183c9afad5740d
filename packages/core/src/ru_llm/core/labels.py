"""Label values shared by the code that builds training examples (dataset templates, train collation, DPO)."""

from __future__ import annotations

IGNORE_INDEX = -100
"""The label of a token the loss skips: the default ``ignore_index`` of PyTorch's ``cross_entropy``, which
transformers' models and TRL use as well."""
