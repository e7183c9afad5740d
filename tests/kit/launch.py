"""Launching two local CPU ranks from tests, free of any enclosing launcher's variables.

* :func:`torchrun`: the real ``torchrun --standalone`` (its agent process plus one process per rank);
* :func:`forked_ranks`: the same ranks with the same process-group variables, forked from one process
  that imported torch, transformers and DeepSpeed first (``python -m kit.launch N ARGS``). Each rank is
  still its own process (its own process group member, signals, exit); what it does not pay is a second
  import of the libraries (about 10 CPU-seconds a rank here) nor torchrun's agent (about 4). For tests
  about what the ranks do, not about torchrun itself (test_distributed.py and test_multinode.py keep
  real torchrun runs).
"""

from __future__ import annotations

import contextlib
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

# Variables of an enclosing launcher; the runs below start their own process groups.
LAUNCH_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
KIT_ROOT = Path(__file__).resolve().parent.parent


def environment(**extra: str) -> dict[str, str]:
    """This environment without launcher variables, one OpenMP thread, and this interpreter's bin directory
    first on PATH: DeepSpeed JIT-builds its CPU shared-memory op with the ``ninja`` found there, and two
    ninja versions (the virtual environment's, the system's) keep rebuilding each other's build (about 85
    CPU-seconds each time)."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    bin_dir = str(Path(sys.executable).parent)
    env.update(COLUMNS="200", OMP_NUM_THREADS="1", PATH=os.pathsep.join(filter(None, [bin_dir, env.get("PATH")])))
    env.update(extra)
    return env


def torchrun(*args: Any, cwd: Path, processes: int = 2, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``torchrun --standalone --nproc_per_node N ARGS`` (a free rendezvous port per run)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
    return subprocess.run(
        [*command, *map(str, args)], cwd=cwd, env=environment(), capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip


def forked_ranks(*args: Any, cwd: Path, processes: int = 2, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``ARGS`` (``-m MODULE ...`` or ``SCRIPT ...``) on ``processes`` ranks forked from one process that
    imported the libraries first; the result reads as :func:`torchrun`'s (returncode, stdout, stderr)."""
    env = environment(PYTHONPATH=os.pathsep.join(filter(None, [str(KIT_ROOT), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "kit.launch", str(processes), *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


# -- python -m kit.launch N ARGS: the forking parent ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_rank(rank: int, processes: int, port: int, target: list[str]) -> int:
    """In the forked child: torchrun's variables for ``rank``, then ``target`` as ``python TARGET`` would."""
    os.environ.update(
        RANK=str(rank), LOCAL_RANK=str(rank), GROUP_RANK="0", ROLE_RANK=str(rank), WORLD_SIZE=str(processes),
        LOCAL_WORLD_SIZE=str(processes), ROLE_WORLD_SIZE=str(processes), MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port), TORCHELASTIC_RESTART_COUNT="0", TORCHELASTIC_MAX_RESTARTS="0",
    )  # fmt: skip
    try:
        if target[0] == "-m":
            sys.argv = [target[1], *target[2:]]
            runpy.run_module(target[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = list(target)
            sys.path.insert(0, str(Path(target[0]).resolve().parent))
            runpy.run_path(target[0], run_name="__main__")
        return 0
    except SystemExit as stop:
        code = stop.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    except BaseException:  # a rank's traceback goes to its stderr, as under torchrun
        traceback.print_exc()
        return 1


def main(argv: list[str]) -> int:
    processes, target = int(argv[0]), argv[1:]
    if "DS_ACCELERATOR" not in os.environ and not Path("/dev/nvidiactl").exists():
        os.environ["DS_ACCELERATOR"] = "cpu"  # as ru_llm.cli.main does before DeepSpeed is imported
    # what every rank imports anyway; nothing here starts a thread pool or touches a process group
    import deepspeed  # noqa: F401
    import torch.distributed  # noqa: F401
    import transformers.trainer  # noqa: F401

    import ru_llm.cli.main
    import ru_llm.train.run
    import ru_llm.train.trainer  # noqa: F401

    port = _free_port()
    sys.stdout.flush()
    sys.stderr.flush()
    children: dict[int, int] = {}
    for rank in range(processes):
        pid = os.fork()
        if pid == 0:
            code = _run_rank(rank, processes, port, target)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        children[pid] = rank
    failed = 0
    while children:
        pid, status = os.wait()
        children.pop(pid, None)
        code = os.waitstatus_to_exitcode(status)
        if code != 0 and not failed:
            failed = code if code > 0 else 128 - code
            print(f"kit.launch: a rank exited with {code}; stopping the others", file=sys.stderr, flush=True)
            _stop(list(children))
    return failed


def _stop(pids: list[int]) -> None:
    """SIGTERM the other ranks (a peer in a collective with a dead rank may never return), SIGKILL after 10 s."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.2)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
