"""The settings blocks of the built-in strategies (``lora:``, ``full:``, ``cpt:``, ``dpo:``, ``embeddings:``), one
module per strategy named as its module under ``strategies/``; each dataclass checks itself on construction."""
