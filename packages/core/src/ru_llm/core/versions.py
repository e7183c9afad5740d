"""Installed versions of distributions: for ``ru-llm --version`` and for what a results file records."""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Iterable


def installed_versions(distributions: Iterable[str]) -> dict[str, str | None]:
    """``{distribution: version}`` in the order given; ``None`` for one that is not installed."""
    found: dict[str, str | None] = {}
    for dist in distributions:
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = None
    return found


def environment_versions(distributions: Iterable[str]) -> dict[str, str]:
    """Python's version and those of the installed ``distributions`` (the missing ones left out), so that a
    number in a results file can be traced to the code that produced it."""
    installed = {dist: version for dist, version in installed_versions(distributions).items() if version}
    return {"python": platform.python_version(), **installed}
