"""Run a function in a forked child of this process and get its result back (benchmarks' test runs).

A benchmark that measures each way "in a fresh process" pays the imports of torch and transformers again
in every one (about 10 CPU-seconds each here). Forked from a parent that has imported them, a child starts
at once; it is still its own process (its own ``ru_maxrss``, which starts at the parent's resident size,
the same for every way). The benchmarks keep fresh processes by default; their tests fork.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback
from collections.abc import Callable
from typing import Any


def call_forked(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a forked child; its return value, or SystemExit with the child's traceback."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the parent's code
        os.close(read)
        code = 0
        try:
            payload = pickle.dumps(("ok", function(*args)))
        except BaseException:
            payload, code = pickle.dumps(("error", traceback.format_exc())), 1
        with os.fdopen(write, "wb") as pipe:
            pipe.write(payload)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        raise SystemExit(f"forked {function.__name__} died without an answer (wait status {status})")
    kind, value = pickle.loads(data)
    if kind == "error":
        raise SystemExit(f"forked {function.__name__} failed:\n{value}")
    return value
