"""How `eval compare` writes one value: counts as integers, rates and scores with decimals and ± stderr."""

from __future__ import annotations

import pytest

from ru_llm.eval.report import cell


@pytest.mark.parametrize(
    ("value", "stderr", "shown"),
    [
        (120.0, None, "120"),
        (12000.0, None, "12,000"),
        (37, None, "37"),
        (0.5123, 0.0121, "0.5123 ± 0.0121"),
        (1.0, None, "1.0000"),
        (0.0, 0.0, "0.0000 ± 0.0000"),
        (7.25, 0.31, "7.2500 ± 0.3100"),
        (None, None, "—"),
    ],
)
def test_a_value_is_shown_as_what_it_is(value, stderr, shown: str) -> None:
    assert cell(value, stderr) == shown
