"""Benchmark: host memory per rank of a ZeRO-3 run whose model loads partitioned, against loading it whole.

Two CPU processes under torchrun (gloo) run ``ru-llm train run`` with ``full.deepspeed: zero3`` on a
random-weight LLaMA saved to disk as safetensors (default: hidden 768, 8 layers, FFN 2048, the real
32,000-token LLaMA-2 vocabulary with an untied output layer: 106 M parameters, 425 MB in fp32), for
``--steps`` optimizer steps, two ways:

* ``sharded``: what the run does (``ru_llm.train.sharded``): the model is built inside DeepSpeed's
  ``zero.Init`` and each rank reads only its partition of every tensor from the file;
* ``whole``: the same run with sharded loading switched off: every rank builds and reads the whole
  fp32 model, and DeepSpeed partitions it when the engine starts (the behaviour before issue 25).

Each rank records its resident set size just before the model is loaded (``before_load_mb``: torch,
transformers, DeepSpeed and the data, the same in both ways) and its peak (``ru_maxrss``) at four
points: when ``load_model`` returns (``load_peak_mb``; the whole way's weights are memory-mapped from the
file then and only become resident when DeepSpeed reads them to partition them), when the model is
partitioned in both ways (``partitioned_peak_mb``: inside the engine, before the ZeRO-3 optimizer makes
its own buffers; this is the end of loading), when training starts (``start_peak_mb``) and after the
first optimizer step (``step_peak_mb``: Adam's state exists).

``per_rank_peak_rss_vs_full_model_ratio`` is the largest per-rank peak while loading (through
``partitioned_peak_mb``) that the model adds above ``before_load_mb``, the sharded way over the whole
way: what loading partitioned saves, without the ~1 GB of libraries every process holds whatever the
model (at 7B that baseline is noise; at 100M it is twice the model). ``per_rank_peak_rss_raw_ratio`` is
the same for the raw peaks; ``start_peak_ratio`` and ``step_peak_ratio`` compare the raw peaks once the
optimizer exists: on CPU its state (fp32 master copy, gradients, Adam moments: 12 bytes per parameter
per rank share) lives in the same host memory and outweighs the whole fp32 model at two ranks, so there
the two ways meet (see docs/training-distributed.md for the arithmetic; on GPUs that state is in GPU
memory and the host keeps only what loading leaves).

A third run, one process without DeepSpeed and twice the batch (the benchmark's own process, which has
imported torch and transformers already), trains on the same sequences; the weights the sharded run
saves are loaded with plain transformers and compared with its weights
(``max_abs_weight_diff_vs_one_process``, target under 1e-4). Target (issue 25): ratio <= 0.6 at two ranks.

    uv run python bench/zero3_memory.py [--hidden 768] [--layers 8] [--intermediate 2048] [--steps 1]
                                        [--launcher torchrun|fork]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

TOKENIZER = REPO / "tests" / "data" / "tokenizers" / "llama2"
# Variables of an enclosing launcher: each run below starts its own process group.
LAUNCH_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def _mb(kilobytes: float) -> float:
    return round(kilobytes / 1024, 1)


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


# -- the worker: one rank of one way ------------------------------------------------------------
def worker(config_path: str, way: str, report_dir: str) -> None:
    """Train as the config says and write this rank's memory report (``way`` whole: no sharded loading)."""
    from transformers import TrainerCallback

    import ru_llm.train.sharded as sharded
    import ru_llm.train.trainer as trainer
    from ru_llm.train.configfile import resolve_config
    from ru_llm.train.run import train

    marks: dict[str, float] = {}
    if way == "whole":
        sharded.sharded_loading = lambda *args, **kwargs: sharded.ShardedLoading()
    load_model = trainer.load_model

    def measured_load(*args: Any, **kwargs: Any) -> Any:
        marks.setdefault("before_load_mb", _mb(_rss_kb()))
        model = load_model(*args, **kwargs)
        marks.setdefault("load_peak_mb", _mb(_peak_kb()))
        return model

    trainer.load_model = measured_load
    if way != "one":  # the one-process reference runs without DeepSpeed
        _measure_partitioning(marks)

    class Probe(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            marks["start_peak_mb"] = _mb(_peak_kb())

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step == 1:
                marks["step_peak_mb"] = _mb(_peak_kb())

    config, _ = resolve_config(config_path)
    started = time.perf_counter()
    train(config, progress=False, callbacks=[Probe()])
    rank = int(os.environ.get("RANK", "0"))
    marks.update(rank=rank, seconds=round(time.perf_counter() - started, 1), end_peak_mb=_mb(_peak_kb()))
    Path(report_dir, f"{way}-rank{rank}.json").write_text(json.dumps(marks), encoding="utf-8")


def _measure_partitioning(marks: dict[str, float]) -> None:
    from deepspeed.runtime.zero.stage3 import DeepSpeedZeroOptimizer_Stage3 as Stage3

    offload = Stage3.initialize_ds_offload

    def measured_offload(self: Any, *args: Any, **kwargs: Any) -> Any:
        done = offload(self, *args, **kwargs)
        # the model is partitioned now in both ways (the whole way's full weights were read and split
        # just here); the optimizer's own buffers come next and are the same in both
        marks.setdefault("partitioned_peak_mb", _mb(_peak_kb()))
        return done

    Stage3.initialize_ds_offload = measured_offload


# -- the parent ---------------------------------------------------------------------------------
def build_model(directory: Path, *, hidden: int, layers: int, intermediate: int, heads: int) -> int:
    """A random LLaMA with the real LLaMA-2 tokenizer saved to ``directory``; returns its parameter count."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=512,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(directory)  # safetensors
    tokenizer.save_pretrained(directory)
    return sum(p.numel() for p in model.parameters())


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    env.update(OMP_NUM_THREADS="1", RU_LLM_DISABLE_PLUGIN_AUTOLOAD="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "tests"), env.get("PYTHONPATH")]))  # kit.launch
    env["PATH"] = os.pathsep.join(filter(None, [str(Path(sys.executable).parent), env.get("PATH")]))  # its ninja
    return env


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"zero3_memory: {' '.join(command[:6])} ... failed:\n{done.stderr[-12000:]}")


def _forked(root: Path, processes: int, tail: list[str]) -> None:
    """The ranks forked from this process (``kit.launch``: it imports the libraries here first, once), their
    output in a log file that a failure shows; the test runs this script forked from its launch server, so
    nothing is imported again."""
    from kit import launch

    log = root / f"ranks-{tail[1]}.log"
    sys.stdout.flush()
    sys.stderr.flush()
    saved, here = (os.dup(1), os.dup(2)), os.getcwd()
    written = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.dup2(written, 1)
        os.dup2(written, 2)
        os.chdir(root)
        code = launch.main([str(processes), str(Path(__file__).resolve()), "--worker", *tail])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.chdir(here)
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(written)
    if code != 0:
        sys.exit(f"zero3_memory: forked ranks ({tail[1]}) failed:\n{log.read_text(errors='replace')[-12000:]}")


def _write_config(path: Path, values: dict[str, Any]) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def _weights(path: Path) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return {name: p.detach() for name, p in model.named_parameters()}


def _largest_difference(a: dict[str, Any], b: dict[str, Any]) -> float:
    if sorted(a) != sorted(b):
        return float("inf")
    return max((a[name] - b[name]).abs().max().item() for name in a)


def _way(reports: Path, way: str, processes: int) -> dict[str, Any]:
    ranks = [json.loads((reports / f"{way}-rank{r}.json").read_text(encoding="utf-8")) for r in range(processes)]
    keys = ("load_peak_mb", "partitioned_peak_mb", "start_peak_mb", "step_peak_mb")
    return {"per_rank": ranks, **{key: max(r[key] for r in ranks) for key in keys}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--intermediate", type=int, default=2048)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--launcher", choices=("torchrun", "fork"), default="torchrun",
        help="fork: the ranks are forked from this process once it imported the libraries (tests/kit/launch.py), "
        "which saves the tests ~16 CPU-seconds a run; each rank still measures its own peak from its own start",
    )  # fmt: skip
    parser.add_argument("--worker", nargs=3, metavar=("CONFIG", "WAY", "REPORTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return

    from kit.train_data import dolly_conversations, write_jsonl

    if args.launcher == "fork":  # this process is the ranks' launcher: its environment is theirs
        environment = _environment()
        os.environ.clear()
        os.environ.update(environment)
        import torch

        torch.set_num_threads(1)  # before any torch operation: an OpenMP pool started before a fork can hang

    with tempfile.TemporaryDirectory(prefix="zero3-memory-") as tmp:
        root = Path(tmp)
        model = root / "model"
        parameters = build_model(
            model, hidden=args.hidden, layers=args.layers, intermediate=args.intermediate, heads=args.heads
        )
        data = write_jsonl(root / "data.jsonl", dolly_conversations(2 * args.processes))
        values: dict[str, Any] = {
            "strategy": "full",
            "model": str(model),
            "data": str(data),
            "train_on": "all",
            "max_length": 128,
            "max_steps": args.steps,
            "logging_steps": 1,
            "optimizer": {"lr": 1e-3, "scheduler": "constant"},
            "device": "cpu",
        }
        reports = root / "reports"
        reports.mkdir()
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node"]
        launch += [str(args.processes), str(Path(__file__).resolve()), "--worker"]
        os.environ["RU_LLM_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # in the fork launcher's server too
        outputs = {}
        for way in ("sharded", "whole"):
            outputs[way] = root / f"out-{way}"
            config = {**values, "batch_size": 1, "output_dir": str(outputs[way]), "full": {"deepspeed": "zero3"}}
            tail = [str(_write_config(root / f"{way}.yaml", config)), way, str(reports)]
            if args.launcher == "torchrun":
                _run([*launch, *tail], cwd=root)
            else:  # both ways' ranks forked from this process, which imported the libraries once
                _forked(root, args.processes, tail)
        outputs["one"] = root / "out-one"
        config = {**values, "batch_size": args.processes, "output_dir": str(outputs["one"])}
        # the reference trains here (no memory is measured from it): torch and transformers are imported already
        import torch

        torch.set_num_threads(1)  # as the ranks (OMP_NUM_THREADS=1)
        worker(str(_write_config(root / "one.yaml", config)), "one", str(reports))

        sharded, whole = _way(reports, "sharded", args.processes), _way(reports, "whole", args.processes)
        reference, trained = _weights(outputs["one"]), _weights(outputs["sharded"])
        difference = _largest_difference(trained, reference)
        original = _weights(model)
        moved = min((trained[name] - original[name]).abs().max().item() for name in trained)

    def above(way: dict[str, Any]) -> float:
        return max(r["partitioned_peak_mb"] - r["before_load_mb"] for r in way["per_rank"])

    report = {
        "benchmark": "zero3_memory",
        "processes": args.processes,
        "launcher": args.launcher,
        "parameters": parameters,
        "model_fp32_mb": round(parameters * 4 / 2**20, 1),
        "steps": args.steps,
        "sharded": sharded,
        "whole": whole,
        "per_rank_peak_rss_vs_full_model_ratio": round(above(sharded) / above(whole), 3),
        "per_rank_peak_rss_raw_ratio": round(sharded["partitioned_peak_mb"] / whole["partitioned_peak_mb"], 3),
        "start_peak_ratio": round(sharded["start_peak_mb"] / whole["start_peak_mb"], 3),
        "loading_peak_above_baseline_mb": {"sharded": above(sharded), "whole": above(whole)},
        "step_peak_ratio": round(sharded["step_peak_mb"] / whole["step_peak_mb"], 3),
        "max_abs_weight_diff_vs_one_process": difference,
        "min_weight_change": moved,  # each tensor moved at least this much: the comparison is not vacuous
        "weights_equal": difference < 1e-4,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
