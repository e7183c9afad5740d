"""Launching two local CPU ranks from tests, free of any enclosing launcher's variables.

* :func:`forked_ranks`: ranks with torchrun's process-group variables, forked from one process that
  imported torch, transformers and DeepSpeed first (``python -m kit.launch N ARGS``). Each rank is still
  its own process (its own process group member, signals, exit); what it does not pay is a second import
  of the libraries (about 10 CPU-seconds a rank here) nor torchrun's agent (about 4). For tests about what
  the ranks do, not about torchrun itself (test_multinode.py runs the real torchrun: two agents, c10d);
* :func:`forked`: the same for any ``python TARGET`` (kit/crash.py's killed runs: ``processes=0``, no
  rank variables).

Both go through one launch server per test process (``python -m kit.launch --serve``, started on first
use): it imports the libraries once, then forks a child per request that takes the request's directory,
environment and output files and forks the ranks. ``python -m kit.launch N ARGS`` (:func:`main`) does one
launch without a server, from the calling process (bench/zero3_memory.py ``--launcher fork`` calls ``main``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

# Variables of an enclosing launcher; the runs below start their own process groups.
LAUNCH_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
KIT_ROOT = Path(__file__).resolve().parent.parent


def environment(**extra: str) -> dict[str, str]:
    """This environment without launcher variables, one OpenMP thread, and this interpreter's bin directory
    first on PATH: DeepSpeed JIT-builds ops (CPU Adam for offload) with the ``ninja`` found there, and two
    ninja versions (the virtual environment's, the system's) keep rebuilding each other's build (about 85
    CPU-seconds each time)."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    bin_dir = str(Path(sys.executable).parent)
    env.update(COLUMNS="200", OMP_NUM_THREADS="1", PATH=os.pathsep.join(filter(None, [bin_dir, env.get("PATH")])))
    env.update(extra)
    return env


def forked_ranks(*args: Any, cwd: Path, processes: int = 2, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``ARGS`` (``-m MODULE ...`` or ``SCRIPT ...``) on ``processes`` ranks forked from one process that
    imported the libraries first; the result reads as ``subprocess.run``'s (returncode, stdout, stderr)."""
    return forked([str(a) for a in args], cwd=cwd, processes=processes, timeout=timeout)


def forked(
    target: list[str], *, cwd: Path, processes: int = 0, timeout: int = 300, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """``python TARGET`` (``-m MODULE ...`` or ``SCRIPT ...``) in a process forked from this test process's
    launch server (``python -m kit.launch --serve``, started on first use: it imports the libraries once);
    ``processes`` > 0 forks that many ranks with torchrun's variables, 0 runs TARGET as a plain process.
    A returncode below zero is the signal that ended it, as :mod:`subprocess` says."""
    server = _server()
    with tempfile.TemporaryDirectory(prefix="kit-launch-") as tmp:
        out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
        request = {"target": target, "processes": processes, "cwd": str(cwd), "timeout": timeout}
        request.update(env=environment(**extra_env), stdout=str(out), stderr=str(err))
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(json.dumps(request) + "\n")
        server.stdin.flush()
        line = server.stdout.readline()
        if not line:
            raise RuntimeError(f"kit.launch server exited with {server.wait()}")
        reply = json.loads(line)
        stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
    if reply.get("timed_out"):
        raise subprocess.TimeoutExpired(target, timeout, stdout, stderr)
    return subprocess.CompletedProcess(target, reply["code"], stdout, stderr)


_SERVERS: list[subprocess.Popen[str]] = []


def _server() -> subprocess.Popen[str]:
    """This process's launch server (environment variables that libraries read on import come from the first
    call's environment)."""
    if _SERVERS and _SERVERS[0].poll() is None:
        return _SERVERS[0]
    env = environment(PYTHONPATH=os.pathsep.join(filter(None, [str(KIT_ROOT), os.environ.get("PYTHONPATH")])))
    server = subprocess.Popen(
        [sys.executable, "-m", "kit.launch", "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        text=True, cwd=KIT_ROOT,
    )  # fmt: skip
    atexit.register(_close, server)
    _SERVERS[:] = [server]
    return server


def _close(server: subprocess.Popen[str]) -> None:
    if server.stdin is not None:
        with contextlib.suppress(OSError):
            server.stdin.close()  # the server ends at end of input
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


# -- python -m kit.launch N ARGS | --serve: the forking parent ------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
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
    return _run_target(target)


def _preimport() -> None:
    """What every rank imports anyway; nothing here starts a thread pool or touches a process group."""
    if "DS_ACCELERATOR" not in os.environ and not Path("/dev/nvidiactl").exists():
        os.environ["DS_ACCELERATOR"] = "cpu"  # as ru_llm.cli.main does before DeepSpeed is imported
    import deepspeed  # noqa: F401
    import torch.distributed  # noqa: F401
    import transformers.trainer  # noqa: F401
    from kit.heap import freeze_what_lives

    import ru_llm.cli.main
    import ru_llm.train.run
    import ru_llm.train.trainer  # noqa: F401

    # out of the collector's reach: the Trainer's gc.collect() before each training loop would walk these
    # ~600k objects in every rank (0.4-0.7 s) and copy their pages from the parent (the root conftest does
    # the same for the test process)
    freeze_what_lives()


def _run_target(target: list[str]) -> int:
    """``target`` as ``python TARGET`` would run it; the exit code."""
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


def _fork_ranks(processes: int, target: list[str]) -> int:
    """Fork the ranks, wait for them; the first failure stops the others and is the exit code."""
    port = free_port()
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


def _launch(request: dict[str, Any]) -> None:
    """In the server's forked child (never returns): the request's directory, environment and output files."""
    try:
        os.setsid()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        target = request["target"]
        code = _fork_ranks(request["processes"], target) if request["processes"] else _run_target(target)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        traceback.print_exc()
        code = 1
    os._exit(code)


def _serve() -> None:
    """One request (a JSON line) at a time on stdin: fork, wait, answer ``{"code": ...}`` on stdout."""
    _preimport()
    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        replies.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _launch(request)
        deadline = time.monotonic() + request["timeout"]
        timed_out = False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline and not timed_out:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            time.sleep(0.1)
        replies.write(json.dumps({"code": os.waitstatus_to_exitcode(status), "timed_out": timed_out}) + "\n")
        replies.flush()


def main(argv: list[str]) -> int:
    if argv == ["--serve"]:
        _serve()
        return 0
    _preimport()
    return _fork_ranks(int(argv[0]), argv[1:])


def _stop(pids: list[int]) -> None:
    """SIGTERM the other ranks (a peer in a collective with a dead rank may never return), SIGKILL after 10 s."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(pid) for pid in pids):
        time.sleep(0.2)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie is dead, waiting for its reaper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
