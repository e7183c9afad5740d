"""Third-party noise is silenced in one place, every item with its reason; -v / RU_LLM_VERBOSE shows it all."""

from __future__ import annotations

import logging
import warnings

import pytest

from ru_llm.core.quiet import QUIET_ENV, QUIET_LOGS, QUIET_WARNINGS, quiet_third_party


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for variable, _, _ in QUIET_ENV:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("RU_LLM_VERBOSE", raising=False)
    return monkeypatch


def test_every_silenced_item_says_why() -> None:
    for *_, why in (*QUIET_ENV, *QUIET_WARNINGS, *QUIET_LOGS):
        assert len(why) > 30


def test_quiet_hides_the_listed_warnings_logs_and_bars_but_not_others(clean_env, caplog) -> None:
    import os

    clean_env.setenv("TOKENIZERS_PARALLELISM", "true")  # a user's own setting wins
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_third_party()
        warnings.warn("`gradient_checkpointing_enable` is deprecated", FutureWarning, stacklevel=1)
        warnings.warn("something a user should see", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["something a user should see"]
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1" and os.environ["TOKENIZERS_PARALLELISM"] == "true"
    name, prefix, _ = QUIET_LOGS[0]
    with caplog.at_level(logging.WARNING, logger=name):
        logging.getLogger(name).warning(prefix + " (details)")
        logging.getLogger(name).warning("a real problem")
    assert [r.getMessage() for r in caplog.records] == ["a real problem"]


def test_verbose_leaves_everything_as_it_is(clean_env) -> None:
    import os

    clean_env.setenv("RU_LLM_VERBOSE", "1")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_third_party()
        warnings.warn("`gradient_checkpointing_enable` is deprecated", FutureWarning, stacklevel=1)
    assert len(seen) == 1 and "HF_HUB_DISABLE_PROGRESS_BARS" not in os.environ


def test_the_command_line_takes_verbose(clean_env) -> None:
    from typer.testing import CliRunner

    from ru_llm.cli.app import build_app

    result = CliRunner().invoke(build_app(), ["-v", "models"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "--verbose" in CliRunner().invoke(build_app(), ["--help"], env={"COLUMNS": "200"}).output
