"""Two torchrun "nodes" on one machine: a ZeRO-3 run that loses a node after its first checkpoint resumes on
both nodes and ends with the weights of an uninterrupted run.

Each node is its own ``torchrun --nnodes 2 --nproc_per_node 1`` with c10d rendezvous on 127.0.0.1 (the
commands of docs/training-distributed.md, addresses aside), in its own process group. Node 1's worker holds
at the start of step 3, after checkpoint-2 is published; the test then SIGKILLs node 1 whole (its torchrun
agent and its worker: a machine lost), reaps node 0 (it fails, or is killed when it waits on its dead peer),
restarts both nodes with the same command, and compares the result with one process without DeepSpeed on the
same global batch (1e-4, as tests/train/test_distributed.py explains).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kit.crash import max_difference, weights
from kit.launch import environment, free_port, running
from kit.zero3_runs import STEPS

from ru_llm.train.checkpoints import COMPLETE, STAGING, is_finished

SAVE_STEPS = 2

# The first run's entry point: `ru-llm ARGS`, except that with HOLD_MARKER set the worker writes its pid
# there and waits at the start of step SAVE_STEPS + 1 (the checkpoint of step SAVE_STEPS is published by then).
HOLD = f"""
import os, sys, time
from pathlib import Path
from transformers import Trainer
from ru_llm.cli.main import main

marker = os.environ.get("HOLD_MARKER")
if marker:
    real = Trainer.training_step

    def held(self, *args, **kwargs):
        if self.state.global_step == {SAVE_STEPS}:
            Path(marker).write_text(str(os.getpid()), encoding="utf-8")
            time.sleep(600)
        return real(self, *args, **kwargs)

    Trainer.training_step = held
main(sys.argv[1:])
"""


def _node(tail: list[Any], *, port: int, run_id: str, cwd: Path, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """One node: ``torchrun --nnodes 2 --nproc_per_node 1 --rdzv_backend c10d ... TAIL`` in a new session."""
    environ = environment(**env)  # no enclosing launcher's variables, one OpenMP thread
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1"]
    command += ["--rdzv_backend", "c10d", "--rdzv_endpoint", f"127.0.0.1:{port}", "--rdzv_id", run_id]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, *map(str, tail)], cwd=cwd, env=environ, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def _descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (torchrun starts its workers in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_node(node: subprocess.Popen[bytes]) -> None:
    """SIGKILL a node whole: its torchrun agent's process group and every worker's."""
    below = _descendants(node.pid)  # before the agent dies and its workers are re-parented
    for group in [node.pid, *below]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(group, signal.SIGKILL)
    node.wait(timeout=30)


def _wait(nodes: list[subprocess.Popen[bytes]], seconds: float) -> bool:
    """Wait until every node has exited; False when ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while any(n.poll() is None for n in nodes):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def _logs(*paths: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in paths if p.exists())


def _losses(out: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return {r["step"]: r["loss"] for r in records if "loss" in r}


def _check_published(out: Path, step: int) -> None:
    """checkpoint-STEP as documented: every rank's shard written, sealed with the manifest, nothing left staged."""
    checkpoint = out / f"checkpoint-{step}"
    manifest = json.loads((checkpoint / COMPLETE).read_text(encoding="utf-8"))
    assert manifest["step"] == step
    files = manifest["files"]
    for rank in (0, 1):  # ZeRO-3: each rank's parameter and optimizer partition, each rank's RNG state
        assert f"global_step{step}/zero_pp_rank_{rank}_mp_rank_00_optim_states.pt" in files, sorted(files)
        assert f"global_step{step}/zero_pp_rank_{rank}_mp_rank_00_model_states.pt" in files, sorted(files)
        assert f"rng_state_{rank}.pth" in files, sorted(files)
    assert "trainer_state.json" in files
    for name, size in files.items():
        assert (checkpoint / name).stat().st_size == size, name
    assert not (out / STAGING / checkpoint.name).exists()


@pytest.mark.slow
def test_a_node_killed_mid_run_then_both_restarted_gives_the_uninterrupted_weights(
    zero3_reference: dict[str, Any], tiny_model: Callable[[str], Path], tmp_path: Path
) -> None:
    values, reference = zero3_reference["values"], zero3_reference["reference"]

    out = tmp_path / "shared" / "run"  # the "shared filesystem" both nodes write to
    config = tmp_path / "run.yaml"
    zero3 = {"batch_size": 1, "save_steps": SAVE_STEPS, "full": {"deepspeed": "zero3"}, "output_dir": str(out)}
    config.write_text(yaml.safe_dump({**values, **zero3}), encoding="utf-8")
    (tmp_path / "hold.py").write_text(HOLD, encoding="utf-8")
    marker = tmp_path / "held.pid"
    logs = [tmp_path / "node0.log", tmp_path / "node1.log"]
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        port = free_port()
        tail = ["hold.py", "train", "run", config]
        nodes = [
            _node(tail, port=port, run_id="multinode", cwd=tmp_path, log=logs[0]),
            _node(tail, port=port, run_id="multinode", cwd=tmp_path, log=logs[1], HOLD_MARKER=str(marker)),
        ]
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert all(n.poll() is None for n in nodes), f"a node exited before step 3\n{_logs(*logs)}"
            assert time.monotonic() < deadline, f"no node reached step 3\n{_logs(*logs)}"
            time.sleep(0.5)

        # mid-run: checkpoint-2 is published, nothing final is
        _check_published(out, SAVE_STEPS)
        assert not is_finished(out) and not (out / "model.safetensors").exists()
        assert not list(out.glob("checkpoint-[34]"))

        held = int(marker.read_text(encoding="utf-8"))
        assert held in _descendants(nodes[1].pid)
        _kill_node(nodes[1])
        assert nodes[1].returncode == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while running(held) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not running(held), "node 1's worker outlived its node"
        if not _wait(nodes[:1], 30):  # its peer gone, node 0 fails or waits in a collective: end it too
            _kill_node(nodes[0])
        assert nodes[0].returncode != 0, _logs(logs[0])
        assert not is_finished(out)

        # both nodes again, the same command (the documented one), a fresh rendezvous port
        port = free_port()
        tail = ["-m", "ru_llm.cli", "train", "run", config]
        resume_logs = [tmp_path / "resume0.log", tmp_path / "resume1.log"]
        nodes = [_node(tail, port=port, run_id="multinode", cwd=tmp_path, log=log) for log in resume_logs]
        assert _wait(nodes, 300), f"the resumed run did not finish\n{_logs(*resume_logs)}"
        assert [n.returncode for n in nodes] == [0, 0], _logs(*resume_logs)
    finally:
        for node in nodes:
            if node.poll() is None:
                _kill_node(node)

    report = json.loads((out / "train_report.json").read_text(encoding="utf-8"))
    assert report["resumed_from"].endswith(f"checkpoint-{SAVE_STEPS}") and report["steps"] == STEPS
    assert is_finished(out) and not (out / STAGING).exists()
    _check_published(out, STEPS)

    losses, expected = _losses(out), _losses(reference)
    assert sorted(losses) == list(range(1, STEPS + 1))  # steps 1-2 from the first run, 3-4 from the resumed one
    for step, loss in expected.items():
        assert losses[step] == pytest.approx(loss, abs=1e-5), step
    trained, wanted, original = weights(out), weights(reference), weights(tiny_model("llama"))
    assert max_difference(trained, wanted) < 1e-4
    for name, tensor in trained.items():
        assert (tensor.float() - original[name].float()).abs().max().item() > 1e-3, f"{name} did not change"
