"""DeepSpeed configs that agree with the trainer arguments.

Values the transformers integration fills from ``TrainingArguments`` are ``"auto"`` (batch sizes,
accumulation, clipping, precision, optimizer hyperparameters), so the config and the run can never
disagree. ``zero3`` gathers 16-bit weights on save, so the output directory holds a whole model.

Launchers (torchrun, ``accelerate launch``, ``deepspeed``) set the process-group variables; a
plain ``ru-llm train run`` with ``full.deepspeed`` gets a one-process group (:func:`single_process_env`).
On a machine without GPUs DeepSpeed picks its CPU accelerator and the gloo backend by itself.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.train.config import RunConfig


def check_deepspeed(config: RunConfig) -> None:
    """DeepSpeed installed and the config named readable, before any model is loaded (when it is asked for)."""
    if config.full.deepspeed is None:
        return
    from ru_llm.core.deps import require

    require("deepspeed", purpose=f"full.deepspeed: {config.full.deepspeed}", package="ru-llm-train", extra="deepspeed")
    deepspeed_config(config)


# Set by torchrun / accelerate launch / the deepspeed launcher (RANK...) or by mpirun and Slurm's PMI.
_LAUNCHED = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMI_RANK")


def single_process_env() -> dict[str, str]:
    """Give a DeepSpeed run started without a launcher the variables of a one-process group.

    Without ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT`` DeepSpeed falls back to MPI
    discovery and fails without mpi4py (``No module named 'mpi4py'``). Under a launcher this does
    nothing. Returns what it set; the variables stay set, as the process group outlives the run.
    """
    if any(name in os.environ for name in _LAUNCHED):
        return {}
    values = {
        "RANK": "0",
        "LOCAL_RANK": "0",
        "WORLD_SIZE": "1",
        "LOCAL_WORLD_SIZE": "1",
        "MASTER_ADDR": os.environ.get("MASTER_ADDR") or "127.0.0.1",
        "MASTER_PORT": os.environ.get("MASTER_PORT") or str(_free_port()),
    }
    os.environ.update(values)
    return values


def before_deepspeed_starts() -> None:
    """Prepare this process for the trainer's arguments to start DeepSpeed: a one-process group when no launcher
    started it (:func:`single_process_env`), and no build of the CPU shared-memory op (:func:`skip_cpu_shm_op`)."""
    single_process_env()
    skip_cpu_shm_op()


def skip_cpu_shm_op() -> None:
    """Keep DeepSpeed's CPU accelerator from compiling its shared-memory all-reduce op when it starts.

    DeepSpeed's communication layer JIT-builds ``deepspeed_shm_comm`` with the system's C++ compiler as it
    starts on the CPU accelerator (1-2 minutes of g++ on the first run, and again whenever the installation's
    path changes, since the include paths are in the build file). Only its inference all-reduce (tensor-parallel
    inference) calls it; ZeRO training reduces through torch.distributed, so the run is the same without it and
    needs no compiler. DeepSpeed keeps which ops it may build in ``deepspeed.ops.__compatible_ops__``, a dict
    probed once per process and read when the op would be built; on a GPU accelerator this does nothing.
    """
    from deepspeed.accelerator import get_accelerator

    if get_accelerator().device_name() != "cpu":
        return
    import deepspeed.ops

    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def deepspeed_arguments(config: RunConfig) -> dict[str, Any]:
    """The ``TrainingArguments`` values for ``full.deepspeed`` (none when it is not set); the built-in
    strategies that may run sharded all contribute exactly this."""
    return {} if config.full.deepspeed is None else {"deepspeed": deepspeed_config(config)}


def deepspeed_config(config: RunConfig) -> dict[str, Any]:
    """The DeepSpeed config for ``full.deepspeed`` (``zero2``, ``zero3`` or a JSON file)."""
    spec = config.full.deepspeed
    if spec in ("zero2", "zero3"):
        return zero_config(int(spec[-1]), offload=config.full.offload)
    path = Path(str(spec)).expanduser()
    if not path.is_file():
        raise ConfigError(f"full.deepspeed: {spec!r} is neither zero2, zero3 nor a JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"full.deepspeed: {path}: not a readable JSON file ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"full.deepspeed: {path}: the config must be a JSON object")
    return data


def zero_config(stage: int, *, offload: bool = False) -> dict[str, Any]:
    """A ZeRO stage-2 or stage-3 config with every trainer-owned value left to ``"auto"``."""
    zero: dict[str, Any] = {
        "stage": stage,
        "overlap_comm": True,
        "contiguous_gradients": True,
        "reduce_bucket_size": "auto",
    }
    if stage == 3:
        zero.update(
            {
                "stage3_prefetch_bucket_size": "auto",
                "stage3_param_persistence_threshold": "auto",
                "stage3_gather_16bit_weights_on_model_save": True,
            }
        )
    if offload:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
        if stage == 3:
            zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    config: dict[str, Any] = {
        "zero_optimization": zero,
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "steps_per_print": 10**9,  # the run logs; DeepSpeed's own prints would interleave with the progress bar
        "wall_clock_breakdown": False,
    }
    if offload:  # ZeRO-Offload needs DeepSpeed's CPU Adam; otherwise the Trainer's torch AdamW is used
        config["optimizer"] = {
            "type": "AdamW",
            "params": {"lr": "auto", "betas": "auto", "eps": "auto", "weight_decay": "auto"},
        }
    return config
