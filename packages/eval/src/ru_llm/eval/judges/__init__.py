"""LLM judges: reading their verdicts (:mod:`.verdicts`) and Arena-style pairwise leaderboards (:mod:`.arena`)."""
