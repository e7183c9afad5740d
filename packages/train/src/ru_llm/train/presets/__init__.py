"""Run-config presets shipped with ru-llm-train (``preset: NAME`` in a run config)."""
