"""Reading a run config: preset + YAML file + ``key=value`` overrides, checked into a :class:`RunConfig`.

The resolved tree (every default filled in) is what ``config.resolved.yaml`` records, and what a
resumed run is compared against.
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError, UnknownNameError
from ru_llm.core.options import config_from_mapping, deep_merge, parse_key_values, set_dotted
from ru_llm.train.config import BUILTIN_BLOCKS, RunConfig

PRESETS_PACKAGE = "ru_llm.train.presets"


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    description: str
    values: dict[str, Any]


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}{line}: not valid YAML ({getattr(e, 'problem', None) or e})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the config must be a YAML mapping of keys to values")
    return data


def _read_text(file: Path) -> str:
    """A config file's text; one line naming the file and the first bad byte when it is not UTF-8."""
    raw = file.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConfigError(
            f"{file}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})",
            hint="save the config as UTF-8 (e.g. `iconv -f cp1251 -t utf-8`)",
        ) from None


def presets() -> dict[str, Preset]:
    """The presets shipped with the package, by name (the file name without ``.yaml``)."""
    found = {}
    for item in sorted(resources.files(PRESETS_PACKAGE).iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".yaml"):
            continue
        text = item.read_text(encoding="utf-8")
        name = item.name.removesuffix(".yaml")
        description = next((line[1:].strip() for line in text.splitlines() if line.startswith("#")), "")
        found[name] = Preset(name, description, _read_yaml(text, f"preset {name}"))
    return found


def preset_values(name: str) -> dict[str, Any]:
    """A preset's values, its own ``preset`` (a preset may extend another) resolved."""
    known = presets()
    seen: list[str] = []
    values: dict[str, Any] = {}
    while name is not None:
        if name not in known:
            raise UnknownNameError("preset", name, known, hint="run `ru-llm train presets`")
        if name in seen:
            raise ConfigError(f"preset {name!r} extends itself (via {' -> '.join(seen)})")
        seen.append(name)
        own = dict(known[name].values)
        parent = own.pop("preset", None)
        values = deep_merge(own, values)
        name = parent
    return values


def resolve_config(
    path: str | Path | None = None, overrides: list[str] | None = None, *, base: dict[str, Any] | None = None
) -> tuple[RunConfig, dict[str, Any]]:
    """The run config and its resolved tree from a YAML file (or ``base``) and dotted overrides."""
    where = str(path) if path is not None else "config"
    data: dict[str, Any] = dict(base or {})
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"{file}: no such config file", hint="see `ru-llm train presets` for examples")
        data = deep_merge(data, _read_yaml(_read_text(file), where))
    for key, value in parse_key_values(overrides, "override").items():
        set_dotted(data, key, value, where=f"override {key}={value!r}")
    preset = data.get("preset")
    if preset is not None:
        if not isinstance(preset, str):
            raise ConfigError(f"{where}: 'preset' must be a preset name, got {preset!r}")
        data = deep_merge(preset_values(preset), data)
    plugin_settings = _plugin_settings(data, where)
    config = config_from_mapping(RunConfig, data, where=where)
    config.plugin_settings = plugin_settings
    return config, resolved_tree(config)


def _plugin_settings(data: dict[str, Any], where: str) -> dict[str, Any]:
    """Take the settings blocks of third-party strategies out of ``data`` (in place), each built into its
    strategy's ``settings_class``; the chosen strategy's block is filled from its defaults when absent.

    A block sits at the top level under the strategy's name, as the built-ins' do. The old layout
    ``extra: {NAME: {...}}`` is still read, as if the block were written at the top level.
    """
    from ru_llm.train.registry import trainer_strategies

    extra = data.pop("extra", None)
    if extra:
        if not isinstance(extra, dict):
            raise ConfigError(f"{where}: 'extra' must map strategy names to their settings, got {extra!r}")
        for name, block in extra.items():
            if name in data:
                raise ConfigError(
                    f"{where}: settings for {name!r} under both 'extra.{name}' and '{name}'",
                    hint=f"give them once, at the top level: {name}: {{...}}",
                )
            data[name] = block
    own = {f.name for f in dataclasses.fields(RunConfig)}
    candidates = [key for key in data if key not in own and isinstance(key, str)]
    chosen = data.get("strategy")
    if isinstance(chosen, str) and chosen not in own:
        candidates.append(chosen)
    if not candidates:
        return {}
    strategies = trainer_strategies()
    blocks: dict[str, Any] = {}
    for key in dict.fromkeys(candidates):
        if key not in strategies:
            continue  # not a strategy: an unknown key, which the RunConfig check names
        strategy = strategies.get(key)
        if strategy.name in BUILTIN_BLOCKS:
            continue
        if strategy.settings_class is None:
            if key in data:
                raise ConfigError(
                    f"{where}: strategy {strategy.name!r} declares no settings, so its block {key!r} cannot be read",
                    hint="remove the block, or give the strategy a settings_class (docs/plugins.md)",
                )
            continue
        block = data.pop(key, None)
        blocks[strategy.name] = config_from_mapping(strategy.settings_class, block, where=where, prefix=f"{key}.")
    return blocks


def resolved_tree(config: RunConfig) -> dict[str, Any]:
    """The config as plain YAML-able data (tuples as lists)."""

    def plain(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    tree = plain(dataclasses.asdict(config))
    tree.update(tree.pop("plugin_settings"))  # a plugin's block sits at the top level, as the built-ins' do
    return tree


def dump_yaml(tree: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)
