"""The test kit's forked call (kit/fork_call.py): results, failures and a child that never answers."""

from __future__ import annotations

import os
import time

import pytest
from kit.fork_call import call_forked


def test_the_childs_return_value_comes_back_whole_from_another_process() -> None:
    pid, payload = call_forked(lambda: (os.getpid(), b"x" * 3_000_000))  # larger than a pipe's buffer
    assert pid != os.getpid() and payload == b"x" * 3_000_000


def test_a_failing_child_raises_with_its_traceback() -> None:
    with pytest.raises(SystemExit, match="ZeroDivisionError"):
        call_forked(lambda: 1 / 0)


def test_a_child_past_its_timeout_is_killed_and_the_call_fails() -> None:
    started = time.monotonic()
    with pytest.raises(SystemExit, match="ran past 0.5 s and was killed"):
        call_forked(time.sleep, 60, timeout=0.5)
    assert time.monotonic() - started < 30
