"""Models built and loaded already partitioned under ZeRO-3: no rank ever holds the whole model.

Without this every rank of a ZeRO-3 run would build the whole fp32 model and read every weight before
DeepSpeed partitions it at engine start (a 7B model: 28 GB of host memory per rank, 4 × 28 GB on a
4-GPU node). Here, while :class:`ShardedLoading` is open, transformers' DeepSpeed integration sees a
stage-3 config (``is_deepspeed_zero3_enabled()``), so models are constructed inside DeepSpeed's
``zero.Init``: each parameter is partitioned the moment its module is created. :func:`load_partitioned`
then fills each rank's partition straight from the safetensors files, reading only the rows that hold
it, so a rank touches about 1/N of the checkpoint and nothing is sent between ranks.

Why not transformers' own ZeRO-3 path of ``from_pretrained`` alone: it builds the model the same way,
but then rank 0 reads the whole state dict into memory and broadcasts it layer by layer, so rank 0
still holds the whole model once. That path remains the fallback for what the slice reader does not
cover (hub ids, ``.bin`` files, checkpoints whose names differ from the model's, remote code).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ru_llm.train.config import RunConfig
from ru_llm.train.strategy import TrainerStrategy

log = logging.getLogger(__name__)


def zero_stage(config: RunConfig) -> int:
    """The ZeRO stage ``full.deepspeed`` asks for (0 without DeepSpeed)."""
    if config.full.deepspeed is None:
        return 0
    from ru_llm.train.deepspeed import deepspeed_config

    zero = deepspeed_config(config).get("zero_optimization") or {}
    return int(zero.get("stage", 0)) if isinstance(zero, dict) else 0


class ShardedLoading:
    """While open, models that :func:`ru_llm.train.trainer.load_model` builds are partitioned.

    It holds plain ``TrainingArguments`` made from the run's own values and DeepSpeed config: their
    ``HfTrainerDeepSpeedConfig`` is what transformers asks (through a weak reference) whether ZeRO-3
    is on, and making them starts the process group exactly as the trainer's own arguments will.
    The trainer's arguments take over when they are made; :meth:`close` then drops these.
    """

    def __init__(self, arguments: Any = None) -> None:
        self._arguments = arguments

    @property
    def active(self) -> bool:
        return self._arguments is not None

    def close(self) -> None:
        self._arguments = None

    def __enter__(self) -> ShardedLoading:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sharded_loading(config: RunConfig, strategy: TrainerStrategy, out: Path, has_validation: bool) -> ShardedLoading:
    """Open partitioned model loading for a ZeRO-3 run (for any other run: a no-op that says so).

    Call it before the first model is loaded and close it once the trainer's arguments exist.
    """
    if zero_stage(config) != 3 or "quantization_config" in strategy.model_options(config):
        return ShardedLoading()
    import dataclasses

    from transformers import TrainingArguments

    from ru_llm.train.arguments import run_argument_values
    from ru_llm.train.deepspeed import before_deepspeed_starts

    known = {f.name for f in dataclasses.fields(TrainingArguments)}
    values = run_argument_values(config, out, has_validation)
    values.update({k: v for k, v in strategy.trainer_arguments(config, out).items() if k in known})
    before_deepspeed_starts()  # as the trainer's arguments do: a run without a launcher is a one-process group
    arguments = TrainingArguments(**values)
    join_deepspeed_comm()
    return ShardedLoading(arguments)


def join_deepspeed_comm() -> None:
    """Hand the process group the arguments started to DeepSpeed's own communication layer, which
    ``zero.Init`` reads the world size from (otherwise it counts one process and refuses the batch sizes)."""
    import deepspeed
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        deepspeed.init_distributed(dist_backend=dist.get_backend(), auto_mpi_discovery=False)


def load_partitioned(name: str, options: dict[str, Any], *, trust_remote_code: bool = False) -> Any:
    """``name`` built inside ``zero.Init`` with each rank's partitions read from its safetensors files.

    Returns None where this does not apply (ZeRO-3 not on, a quantised load, no local safetensors
    whose names match the model's parameters); the caller then uses ``from_pretrained``, which under
    ZeRO-3 builds the model partitioned too but reads the whole checkpoint on rank 0.
    """
    from transformers.integrations import is_deepspeed_zero3_enabled

    if not is_deepspeed_zero3_enabled() or "quantization_config" in options or trust_remote_code:
        return None
    directory = _local_directory(name)
    files = _safetensors_files(directory) if directory is not None else []
    if not files:
        return None
    model = _build_partitioned(directory, options)
    if model is None:
        return None
    names = _names_in_files(files)
    plan = _load_plan(model, names)
    if plan is None:
        log.info("sharded loading: %s's tensor names differ from the model's; rank 0 reads it whole", name)
        del model
        return None
    _fill_partitions(model, names, plan)
    model.eval()  # as from_pretrained leaves it; the trainer switches it to training
    return model


# What the slice reader needs of a hub repository; weights in other formats leave it to transformers.
_HUB_FILES = ["*.json", "*.safetensors"]


def _local_directory(name: str) -> Path | None:
    """``name`` as a local directory: itself, or a hub id's cached snapshot (its config and safetensors
    files, downloaded once as ``from_pretrained`` would; every rank asks, the hub's file locks share it)."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if path.exists() or name.count("/") != 1:
        return None
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=name, allow_patterns=_HUB_FILES))
    except Exception as e:  # offline, unknown, gated: from_pretrained says what is wrong
        log.info("sharded loading: no snapshot of %s (%s)", name, e)
        return None


def _safetensors_files(directory: Path) -> list[Path]:
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        return [directory / f for f in sorted(set(weight_map.values()))]
    single = directory / "model.safetensors"
    return [single] if single.is_file() else []


def _build_partitioned(directory: Path, options: dict[str, Any]) -> Any:
    """The model of ``directory``'s config, constructed under the contexts ``from_pretrained`` itself uses
    under ZeRO-3 (``zero.Init`` among them), without initialising weights that are about to be read."""
    from transformers import MODEL_FOR_CAUSAL_LM_MAPPING, AutoConfig, GenerationConfig
    from transformers.utils import ContextManagers

    model_config = AutoConfig.from_pretrained(directory)
    model_class = MODEL_FOR_CAUSAL_LM_MAPPING.get(type(model_config), None)
    unknown = set(options) - {"dtype", "attn_implementation"}
    if model_class is None or unknown:
        return None
    dtype = options.get("dtype")
    if dtype is not None:
        model_config.dtype = dtype
    if options.get("attn_implementation"):
        model_config._attn_implementation = options["attn_implementation"]
    try:
        contexts = model_class.get_init_context(
            dtype, is_quantized=False, _is_ds_init_called=False, allow_all_kernels=None
        )
    except (AttributeError, TypeError) as e:  # another transformers: its own from_pretrained path instead
        log.info("sharded loading: transformers has no get_init_context of this shape (%s)", e)
        return None
    with ContextManagers(contexts):
        model = model_class(model_config)
    model.tie_weights()
    model.config.name_or_path = str(directory)  # as from_pretrained records it (peft writes it as the base)
    if (directory / "generation_config.json").is_file():
        model.generation_config = GenerationConfig.from_pretrained(directory)
    return model


@dataclass(frozen=True)
class StoredTensor:
    """Where one tensor lies in a safetensors file (from the file's JSON header)."""

    file: Path
    dtype: str
    shape: tuple[int, ...]
    offset: int  # of its first byte in the file

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def _names_in_files(files: list[Path]) -> dict[str, StoredTensor]:
    """Every tensor of the files, read from their headers alone (8 bytes of header size, then JSON)."""
    names: dict[str, StoredTensor] = {}
    for file in files:
        with file.open("rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(size))
        for key, entry in header.items():
            if key != "__metadata__":
                start = 8 + size + int(entry["data_offsets"][0])
                names[key] = StoredTensor(file, str(entry["dtype"]), tuple(entry["shape"]), start)
    return names


def _load_plan(model: Any, names: dict[str, StoredTensor]) -> list[tuple[str, Any]] | None:
    """(tensor name in the files, parameter or buffer) for everything the model keeps; None unless every
    parameter is in the files (a tied one under any of its names) and every name in the files is the model's."""
    plan: list[tuple[str, Any]] = []
    used: set[str] = set()
    by_tensor: dict[int, list[str]] = {}
    for key, param in model.named_parameters(remove_duplicate=False):
        by_tensor.setdefault(id(param), []).append(key)
    tensors = {id(p): p for p in model.parameters()}
    for ident, keys in by_tensor.items():
        found = [k for k in keys if k in names]
        if not found:
            return None
        plan.append((found[0], tensors[ident]))
        used.update(found)
    for key, buffer in model.named_buffers():
        if key in names:
            plan.append((key, buffer))
            used.add(key)
    return plan if used == set(names) else None


def _fill_partitions(model: Any, names: dict[str, StoredTensor], plan: list[tuple[str, Any]]) -> None:
    """Copy into each parameter this rank's partition of its tensor, read from the file as one byte range.

    Plain positioned reads, not a memory map: the pages of a mapped file count in the process's resident
    memory once touched, so a map would show every rank holding its share of the file twice.
    """
    import torch

    with torch.no_grad():
        for key, tensor in plan:
            stored = names[key]
            if stored.shape != tuple(getattr(tensor, "ds_shape", tensor.shape)):
                raise ValueError(f"{stored.file.name}: {key} has shape {stored.shape}, the model {tuple(tensor.shape)}")
            partition = getattr(tensor, "ds_tensor", None)
            if partition is None:  # a buffer or a parameter kept whole: the whole tensor
                tensor.copy_(read_range(stored, 0, stored.numel).reshape(stored.shape).to(tensor.dtype))
                continue
            start = partition.ds_numel * _partition_rank(tensor)
            values = read_range(stored, start, min(start + partition.ds_numel, stored.numel))
            if values.numel():
                partition.narrow(0, 0, values.numel()).copy_(values.to(partition.dtype))
            # the rest of the last rank's partition is DeepSpeed's padding; it is never read


def _partition_rank(param: Any) -> int:
    import deepspeed.comm as dist

    return int(dist.get_rank(group=getattr(param, "ds_process_group", None)))


def read_range(stored: StoredTensor, start: int, end: int) -> Any:
    """Elements ``start:end`` of ``stored`` flattened, read from its file and nothing else."""
    import torch

    dtype = getattr(torch, _DTYPES.get(stored.dtype, ""), None)
    if dtype is None:
        raise ValueError(f"{stored.file.name}: tensors of dtype {stored.dtype} are not read partitioned")
    if end <= start:
        return torch.empty(0, dtype=dtype)
    width = torch.empty(0, dtype=dtype).element_size()
    buffer = bytearray((end - start) * width)
    with stored.file.open("rb") as fh:
        fh.seek(stored.offset + start * width)
        if fh.readinto(buffer) != len(buffer):
            raise ValueError(f"{stored.file.name}: ends inside a tensor; the file is cut short")
    return torch.frombuffer(buffer, dtype=dtype)


# safetensors' dtype names (the header's) as torch's attribute names
_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64", "I32": "int32"}
_DTYPES.update({"I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"})
