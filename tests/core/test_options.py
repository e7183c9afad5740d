"""The shared input-checking kit: KEY=VALUE options, dotted overrides, typed configs, optional imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from ru_llm.core.deps import require
from ru_llm.core.errors import ConfigError, first_line
from ru_llm.core.options import (
    Device,
    config_from_mapping,
    deep_merge,
    parse_device,
    parse_key_values,
    set_dotted,
)


@dataclass
class Inner:
    r: int = 8
    targets: tuple[str, ...] | None = None


@dataclass
class Outer:
    name: str = field(metadata={"help": "what to call it"})
    lr: float = 1e-4
    mode: Literal["a", "b"] = "a"
    flag: bool = False
    inner: Inner = field(default_factory=Inner)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ConfigError(f"'lr' must be positive, got {self.lr}")


def test_parse_key_values_types_values_like_yaml() -> None:
    assert parse_key_values(["a=3", "b=true", "c=[x, y]", "d=", "e=3e-6"]) == {
        "a": 3, "b": True, "c": ["x", "y"], "d": "", "e": "3e-6"
    }  # fmt: skip
    with pytest.raises(ConfigError, match="--backend-option 'oops': expected KEY=VALUE"):
        parse_key_values(["oops"], "--backend-option")
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_key_values(["a=[1,"], "--option")


def test_config_from_mapping_builds_nested_typed_configs() -> None:
    config = config_from_mapping(
        Outer, {"name": "n", "lr": "3e-6", "mode": "b", "inner": {"r": 16, "targets": ["q", "v"]}}, where="x.yaml"
    )
    assert config.lr == 3e-6 and config.mode == "b" and config.inner == Inner(16, ("q", "v"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "n", "lrr": 1}, "x.yaml: unknown key 'lrr'; did you mean 'lr'?"),
        ({"name": "n", "inner": {"rr": 1}}, "x.yaml: unknown key 'inner.rr'; did you mean 'inner.r'?"),
        ({}, "x.yaml: 'name' is required (what to call it)"),
        ({"name": "n", "lr": "fast"}, "x.yaml: 'lr' must be a number, got 'fast'"),
        ({"name": "n", "flag": "yes"}, "x.yaml: 'flag' must be true or false, got 'yes'"),
        ({"name": "n", "mode": "c"}, "x.yaml: 'mode' must be one of a, b, got 'c'"),
        ({"name": "n", "inner": {"r": 1.5}}, "x.yaml: 'inner.r' must be an integer, got 1.5"),
        ({"name": "n", "inner": {"targets": "q"}}, "x.yaml: 'inner.targets' must be a list, got 'q'"),
        ({"name": "n", "inner": 3}, "x.yaml: inner must be a mapping"),
        ({"name": "n", "lr": -1}, "x.yaml: 'lr' must be positive, got -1.0"),
    ],
)
def test_config_errors_name_the_file_and_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        config_from_mapping(Outer, data, where="x.yaml")
    assert e.value.message.startswith(message)


def test_unknown_key_hint_lists_the_allowed_keys() -> None:
    with pytest.raises(ConfigError) as e:
        config_from_mapping(Outer, {"name": "n", "zzz": 1}, where="f")
    assert "inner" in (e.value.hint or "") and "lr" in (e.value.hint or "")


def test_dotted_overrides_and_merge() -> None:
    data: dict = {"lora": {"r": 8}}
    set_dotted(data, "lora.r", 32)
    set_dotted(data, "a.b.c", 1)
    assert data == {"lora": {"r": 32}, "a": {"b": {"c": 1}}}
    with pytest.raises(ConfigError, match="'lora.r' is a value, not a section"):
        set_dotted(data, "lora.r.x", 1)
    assert deep_merge({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"b": 3}, "d": [1]}) == {"a": {"b": 3, "c": 2}, "d": [1]}


def test_require_names_the_extra_to_install() -> None:
    assert require("json", purpose="reading") is not None
    with pytest.raises(ConfigError) as e:
        require("no_such_module_xyz", purpose="deepspeed: zero3", package="ru-llm-train", extra="deepspeed")
    assert e.value.message.startswith("deepspeed: zero3 needs no_such_module_xyz, which is not installed")
    assert e.value.hint == 'pip install "ru-llm-train[deepspeed]"'


def test_first_line() -> None:
    assert first_line(ValueError("\n  bad   thing\nTraceback ...")) == "bad thing"
    assert first_line(ValueError("")) == "ValueError"
    assert first_line("x" * 500, limit=10) == "x" * 9 + "…"


def test_one_device_rule() -> None:
    assert [str(parse_device(d)) for d in ("cpu", "CUDA", "cuda:1", "mps", "auto")] == [
        "cpu", "cuda", "cuda:1", "mps", "auto",
    ]  # fmt: skip
    assert parse_device("cuda:3") == Device("cuda", 3) and parse_device(Device("cpu")) == Device("cpu")
    for bad in ("tpu", "cuda:", "cuda:x", "cpu:0", "", 3):
        with pytest.raises(ConfigError, match="is not a device; expected cpu, cuda, cuda:N, mps, auto"):
            parse_device(bad)
    with pytest.raises(ConfigError, match=r"^backend 'ct2' option 'device': 'mps' is not supported here; expected"):
        parse_device("mps", supported=("cpu", "cuda", "auto"), where="backend 'ct2' option 'device'")
