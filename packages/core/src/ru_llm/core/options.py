"""Turning user input (KEY=VALUE options, YAML mappings, dotted overrides) into typed config dataclasses.

This is the one edge where user input is parsed and checked: command modules call these functions,
library code receives the dataclasses they build and never names a flag. Errors name where the value
came from (``where``: a flag, a file), the key, and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from ru_llm.core.errors import ConfigError

T = TypeVar("T")


def parse_key_values(pairs: Iterable[str] | None, flag: str = "--option") -> dict[str, Any]:
    """Command-line ``KEY=VALUE`` pairs; values are YAML scalars (``true``, ``3``, ``[a, b]``), so types
    come out as they would in a YAML file. A key given twice keeps the last value."""
    import yaml

    values: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {pair!r}: expected KEY=VALUE")
        try:
            values[key.strip()] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"{flag} {pair!r}: the value is not valid YAML ({getattr(e, 'problem', e)})") from e
    return values


def set_dotted(data: dict[str, Any], dotted: str, value: Any, *, where: str = "override") -> None:
    """Set ``data["a"]["b"] = value`` for ``dotted = "a.b"``, creating the mappings on the way."""
    parts = dotted.split(".")
    if not all(parts):
        raise ConfigError(f"{where}: {dotted!r} is not a dotted key (e.g. lora.r)")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            section = ".".join(parts[: i + 1])
            raise ConfigError(f"{where}: {section!r} is a value, not a section, so {dotted!r} cannot be set")
        node = child
    node[parts[-1]] = value


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``: mappings merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def field_help(cls: type, name: str) -> str:
    """The ``metadata={"help": ...}`` text of a dataclass field (empty when it has none)."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return str(f.metadata.get("help", ""))
    return ""


def config_from_mapping(cls: type[T], data: Any, *, where: str, prefix: str = "") -> T:
    """Build the dataclass ``cls`` from a mapping, checking every key and value.

    Unknown keys, wrong types and missing required values are a :class:`ConfigError` naming
    ``where`` (a file, a flag), the dotted key and what is allowed. Nested dataclasses, ``Literal``,
    ``X | None``, ``list``/``tuple`` and ``dict`` fields are understood; ints are accepted for floats.
    A ``ConfigError`` from the dataclass's own ``__post_init__`` is re-raised with ``where`` in front.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        what = prefix.rstrip(".") or "the config"
        raise ConfigError(f"{where}: {what} must be a mapping of keys to values, got {_kind(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = get_type_hints(cls)
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = str(unknown[0])
        close = difflib.get_close_matches(key, list(fields), n=1)
        raise ConfigError(
            f"{where}: unknown key {prefix + key!r}" + (f"; did you mean {prefix + close[0]!r}?" if close else ""),
            hint="allowed here: " + ", ".join(prefix + name for name in fields),
        )
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
                help_text = f.metadata.get("help")
                raise ConfigError(
                    f"{where}: {prefix + name!r} is required" + (f" ({help_text})" if help_text else ""),
                )
            continue
        values[name] = convert_value(hints[name], data[name], where=where, key=prefix + name)
    try:
        return cls(**values)
    except ConfigError as e:
        if e.message.startswith(where):
            raise
        raise ConfigError(f"{where}: {e.message}", hint=e.hint) from None


def convert_value(tp: Any, value: Any, *, where: str, key: str) -> Any:
    """``value`` checked (and lightly converted) against the type annotation ``tp``."""
    origin = get_origin(tp)
    args = get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return convert_value(option, value, where=where, key=key)
            except ConfigError as e:
                errors.append(e)
        if len(options) == 1:
            raise errors[0]
        raise ConfigError(f"{where}: {key!r} must be {' or '.join(_describe(o) for o in options)}, got {_shown(value)}")
    if origin is Literal:
        if value in args:
            return value
        raise ConfigError(f"{where}: {key!r} must be one of {', '.join(map(str, args))}, got {_shown(value)}")
    if dataclasses.is_dataclass(tp):
        return config_from_mapping(tp, value, where=where, prefix=key + ".")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: {key!r} must be true or false, got {_shown(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: {key!r} must be an integer, got {_shown(value)}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 3e-6 as a string; accept any float spelling
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: {key!r} must be a number, got {_shown(value)}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: {key!r} must be a string, got {_shown(value)}")
    if origin in (list, tuple, typing.Sequence) or tp in (list, tuple):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: {key!r} must be a list, got {_shown(value)}")
        item = args[0] if args else Any
        items = [convert_value(item, v, where=where, key=f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: {key!r} must be a mapping, got {_shown(value)}")
        return dict(value)
    return value


def _kind(value: Any) -> str:
    return "a list" if isinstance(value, list) else f"{_shown(value)}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(map(str, get_args(tp)))
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", dict: "a mapping"}
    return names.get(tp, names.get(get_origin(tp), "a list" if get_origin(tp) in (list, tuple) else str(tp)))


DEVICE_KINDS = ("cpu", "cuda", "mps", "auto")


@dataclasses.dataclass(frozen=True)
class Device:
    """A device as the user names it: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto`` (the backend picks)."""

    kind: Literal["cpu", "cuda", "mps", "auto"]
    index: int | None = None  # only for cuda: the GPU number in ``cuda:N``

    def __str__(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"


def parse_device(value: Any, *, supported: Iterable[str] = DEVICE_KINDS, where: str = "--device") -> Device:
    """The one device rule: ``cpu``, ``cuda``, ``cuda:N`` (N a GPU number), ``mps`` or ``auto``, limited to
    the kinds in ``supported`` (what the caller can run on). Whether the device exists is the caller's to check.
    """
    kinds = [kind for kind in DEVICE_KINDS if kind in set(supported)]
    allowed = ", ".join("cuda, cuda:N" if kind == "cuda" else kind for kind in kinds)
    if isinstance(value, Device):
        device = value
    else:
        text = str(value).strip().lower() if isinstance(value, str) else None
        kind, sep, number = (text or "").partition(":")
        device = None
        if kind in DEVICE_KINDS and not sep:
            device = Device(kind)  # type: ignore[arg-type]
        elif kind == "cuda" and number.isdigit():
            device = Device("cuda", int(number))
        if device is None:
            raise ConfigError(f"{where}: {value!r} is not a device; expected {allowed}")
    if device.kind not in kinds:
        raise ConfigError(f"{where}: {str(device)!r} is not supported here; expected {allowed}")
    return device
