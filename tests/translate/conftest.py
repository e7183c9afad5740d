"""Translate tests never reach the Hugging Face hub: its reachability probe answers "reachable"."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def hub_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that wants the hub unreachable patches ``ru_llm.translate.commands.hub.hub_reachable`` again."""
    import ru_llm.translate.commands.hub

    monkeypatch.setattr(ru_llm.translate.commands.hub, "hub_reachable", lambda endpoint, timeout=None: True)
