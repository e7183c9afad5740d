"""From conversations and raw text to the tensors the trainer sees: sources, encoding, packing, collation."""
