"""Under ZeRO-3 models are built inside ``zero.Init`` and each rank reads only its partition from the file.

The two-process test loads tiny LLaMA and XGLM models the way a run does (``sharded_loading`` open,
then ``trainer.load_model``), and checks on each rank that every parameter holds only its partition
(about half the elements) and that the partitions, gathered, are exactly the file's tensors; a LoRA
run's adapters attach to the partitioned base; a checkpoint whose names differ from the model's falls
back to transformers' own ZeRO-3 path with the same weights; and once the loading is closed ZeRO-3 is
off again, so the meta-device preflight of a later run builds a weightless skeleton.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from kit.launch import forked_ranks

WORKER = r"""
import math, os, sys
from pathlib import Path

import deepspeed
import torch
from safetensors.torch import load_file, save_file
from transformers.integrations import is_deepspeed_zero3_enabled

from ru_llm.train.configfile import resolve_config
from ru_llm.train.registry import get_strategy
from ru_llm.train.sharded import load_partitioned, sharded_loading
from ru_llm.train.trainer import load_model

rank = int(os.environ["RANK"])


def check(model, directory, label):
    stored = load_file(str(Path(directory) / "model.safetensors"))
    for name, param in model.named_parameters():
        if "lora_" in name:
            continue
        key = name.replace("base_model.model.", "").replace(".base_layer", "")
        assert param.ds_tensor.numel() == math.ceil(param.ds_numel / 2), (label, name)  # this rank's half only
        with deepspeed.zero.GatheredParameters([param]):
            expected = stored[key] if key in stored else stored["model.embed_tokens.weight"]  # a tied head
            assert torch.equal(param.data, expected.to(param.dtype)), (label, name)
    print(f"rank {rank}: {label} partitioned and equal", flush=True)


for family in ("llama", "xglm"):
    config, _ = resolve_config(sys.argv[1], [f"model={sys.argv[2]}/{family}"])
    strategy = get_strategy("full")
    with sharded_loading(config, strategy, Path(config.output_dir), False) as sharded:
        assert sharded.active and is_deepspeed_zero3_enabled()
        check(load_model(config, strategy), config.model, family)

config, _ = resolve_config(sys.argv[1], [f"model={sys.argv[2]}/llama", "strategy=lora"])
lora = get_strategy("lora")
with sharded_loading(config, lora, Path(config.output_dir), False):
    from ru_llm.core.families import model_family_for

    model = load_model(config, lora)
    adapted = lora.prepare(model, config, model_family_for(model.config))
    assert any("lora_A" in name for name, _ in adapted.named_parameters())
    check(adapted, config.model, "lora")

# a file holding a name the model lacks: transformers' own ZeRO-3 path instead, with the same weights
other = Path(sys.argv[3])
if rank == 0:
    other.mkdir()
    for item in Path(sys.argv[2], "llama").iterdir():
        (other / item.name).write_bytes(item.read_bytes())
    stored = load_file(str(other / "model.safetensors"))
    save_file({**stored, "unused.weight": torch.zeros(1)}, str(other / "model.safetensors"), metadata={"format": "pt"})
torch.distributed.barrier()
config, _ = resolve_config(sys.argv[1], [f"model={other}"])
with sharded_loading(config, strategy, Path(config.output_dir), False):
    assert load_partitioned(str(other), {"dtype": torch.float32}) is None
    model = load_model(config, strategy)
    stored = load_file(str(other / "model.safetensors"))
    for name, param in model.named_parameters():
        with deepspeed.zero.GatheredParameters([param]):
            assert torch.equal(param.data, stored[name]), name
print(f"rank {rank}: fallback equal", flush=True)

assert not is_deepspeed_zero3_enabled()
from transformers import AutoConfig, AutoModelForCausalLM

with torch.device("meta"):
    skeleton = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(f"{sys.argv[2]}/llama"))
assert all(p.device.type == "meta" for p in skeleton.parameters())
print(f"rank {rank}: preflight skeleton on meta", flush=True)
"""


@pytest.mark.slow
def test_zero3_models_load_partitioned_on_two_ranks(tiny_model: Callable[[str], Path], tmp_path: Path) -> None:
    pytest.importorskip("deepspeed")
    models = tmp_path / "models"
    models.mkdir()
    for family in ("llama", "xglm"):
        (models / family).symlink_to(tiny_model(family), target_is_directory=True)
    data = tmp_path / "data.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n')
    config = tmp_path / "run.yaml"
    values = {"strategy": "full", "model": str(models / "llama"), "data": str(data), "output_dir": str(tmp_path / "o")}
    values.update(device="cpu", full={"deepspeed": "zero3"}, lora={"r": 4})
    config.write_text(yaml.safe_dump(values), encoding="utf-8")
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    done = forked_ranks(script, config, models, tmp_path / "renamed", cwd=tmp_path)  # kit/launch.py
    assert done.returncode == 0, done.stderr[-6000:]
    for rank in (0, 1):
        for label in ("llama", "xglm", "lora"):
            assert f"rank {rank}: {label} partitioned and equal" in done.stdout, done.stdout
        assert f"rank {rank}: fallback equal" in done.stdout
        assert f"rank {rank}: preflight skeleton on meta" in done.stdout


def test_a_rank_reads_exactly_its_partition_from_the_file(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    from ru_llm.train.sharded import _names_in_files, read_range

    tensors = {"matrix": torch.arange(7 * 5, dtype=torch.float32).reshape(7, 5), "vector": torch.arange(9.0)}
    tensors["cube"] = torch.arange(3 * 4 * 2).reshape(3, 4, 2).to(torch.bfloat16)
    save_file(tensors, str(tmp_path / "t.safetensors"), metadata={"format": "pt"})
    names = _names_in_files([tmp_path / "t.safetensors"])
    assert sorted(names) == sorted(tensors) and names["cube"].shape == (3, 4, 2) and names["cube"].dtype == "BF16"
    for name, tensor in tensors.items():
        for ranks in (1, 2, 3, 4):
            part = math.ceil(tensor.numel() / ranks)
            ends = [(r * part, min((r + 1) * part, tensor.numel())) for r in range(ranks)]
            pieces = [read_range(names[name], start, end) for start, end in ends]
            assert torch.equal(torch.cat(pieces), tensor.reshape(-1)), (name, ranks)
    assert read_range(names["matrix"], 40, 35).numel() == 0  # the last rank's padding only
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes((tmp_path / "t.safetensors").read_bytes()[:-8])
    last = max(names, key=lambda key: names[key].offset)  # the tensor at the end of the file
    with pytest.raises(ValueError, match="cut short"):
        read_range(_names_in_files([cut])[last], 0, tensors[last].numel())


def test_without_zero3_loading_stays_as_it_was(tiny_model: Callable[[str], Path], tmp_path: Path) -> None:
    import torch
    from transformers.integrations import is_deepspeed_zero3_enabled

    from ru_llm.train.configfile import resolve_config
    from ru_llm.train.registry import get_strategy
    from ru_llm.train.sharded import load_partitioned, sharded_loading, zero_stage

    values = {"strategy": "full", "model": str(tiny_model("llama")), "data": "x.jsonl", "output_dir": str(tmp_path)}
    for deepspeed, stage in ((None, 0), ("zero2", 2)):
        config, _ = resolve_config(base={**values, "full": {"deepspeed": deepspeed}})
        assert zero_stage(config) == stage
        with sharded_loading(config, get_strategy("full"), tmp_path, False) as sharded:
            assert not sharded.active and not is_deepspeed_zero3_enabled()
            assert load_partitioned(config.model, {"dtype": torch.float32}) is None  # from_pretrained, as before


def test_a_hub_id_is_read_from_its_cached_snapshot(
    tiny_model: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    from ru_llm.train.sharded import _local_directory, _safetensors_files

    asked: list[tuple[str, list[str]]] = []

    def snapshot(repo_id: str, allow_patterns: list[str]) -> str:
        asked.append((repo_id, allow_patterns))
        if repo_id == "owner/offline":
            raise OSError("offline")
        return str(tiny_model("llama"))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot)
    directory = _local_directory("owner/model")
    assert directory == tiny_model("llama") and _safetensors_files(directory) == [directory / "model.safetensors"]
    assert asked == [("owner/model", ["*.json", "*.safetensors"])]  # config and weights only
    assert _local_directory("owner/offline") is None  # from_pretrained then says what is wrong
    assert _local_directory(str(tmp_path / "missing" / "dir")) is None and len(asked) == 2
    assert _local_directory(str(tiny_model("llama"))) == tiny_model("llama")
