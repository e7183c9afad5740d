"""Run a function in a forked child of this process and get its result back (benchmarks' test runs).

A benchmark that measures each way "in a fresh process" pays the imports of torch and transformers again
in every one (about 10 CPU-seconds each here). Forked from a parent that has imported them, a child starts
at once; it is still its own process (its own ``ru_maxrss``, which starts at the parent's resident size,
the same for every way). The benchmarks keep fresh processes by default; their tests fork.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any


def call_forked(function: Callable[..., Any], *args: Any, timeout: float = 600) -> Any:
    """``function(*args)`` in a forked child; its return value, or SystemExit with the child's traceback.

    A child still running after ``timeout`` seconds is killed and the call fails: forked from a process with
    other threads (a pytest-xdist worker), a child could in principle wait on a lock one of them held, and a
    test should then fail, not hang the run."""
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
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    with os.fdopen(read, "rb", buffering=0) as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise SystemExit(f"forked {function.__name__} ran past {timeout} s and was killed")
            chunk = pipe.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    _, status = os.waitpid(pid, 0)
    if not data:
        raise SystemExit(f"forked {function.__name__} died without an answer (wait status {status})")
    kind, value = pickle.loads(data)
    if kind == "error":
        raise SystemExit(f"forked {function.__name__} failed:\n{value}")
    return value
