"""Dataset recipes: which sources to mix, how to filter, deduplicate and split them.

A recipe is a YAML file; every key is validated and an unknown key is an error naming it::

    # ru-llm dataset build recipe.yaml --out data/mix
    seed: 42
    validation: 0.02            # share of conversations in validation, chosen by id hash
    sources:
      - builder: dolly          # any registered dataset builder (`ru-llm dataset list`)
        source: data/dolly.jsonl  # optional: a local file or directory instead of the hub
        options: {context: both}
        max: 5000               # keep at most this many (a seeded, deterministic sample)
      - file: out/dolly_ru.jsonl  # shorthand for builder: file, source: PATH
        options: {license: CC-BY-SA-3.0, commercial: true, lang: ru}
        weight: 2               # repeat each conversation twice (0.5 keeps about half)
    filters: {min_chars: 1, max_chars: 30000, languages: [ru, en], drop_flags: [repetition]}
    dedup: {exact: true, near: false, near_threshold: 0.85}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.core.options import parse_key_values  # noqa: F401  (re-exported: it moved to core)


@dataclass(frozen=True)
class SourceSpec:
    """One source of a recipe."""

    builder: str
    source: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    max: int | None = None
    weight: float = 1.0
    name: str | None = None  # how the source is called in counts and the card (default: builder)

    @property
    def label(self) -> str:
        return self.name or (Path(self.source).stem if self.builder == "file" and self.source else self.builder)


@dataclass(frozen=True)
class FilterSpec:
    """Per-conversation filters; a dropped conversation goes to the rejects file with the filter's name."""

    min_chars: int = 1  # the shortest allowed assistant reply, in characters
    max_chars: int | None = None  # the longest allowed conversation, in characters
    max_turns: int | None = None
    languages: tuple[str, ...] | None = None  # keep only these `lang` values
    drop_flags: tuple[str, ...] = ()  # drop conversations whose meta.translation.flags has any of these


@dataclass(frozen=True)
class DedupSpec:
    exact: bool = True
    near: bool = False  # MinHash LSH over word shingles; slower, so opt-in
    near_threshold: float = 0.85  # estimated Jaccard similarity at or above which two are duplicates


@dataclass(frozen=True)
class Recipe:
    sources: tuple[SourceSpec, ...]
    seed: int = 42
    validation: float = 0.0
    shuffle: bool = True
    commercial: bool = False  # refuse to build if any source is not cleared for commercial use
    filters: FilterSpec = field(default_factory=FilterSpec)
    dedup: DedupSpec = field(default_factory=DedupSpec)


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}", hint=f"known keys: {', '.join(fields)}")
    values = dict(data)
    for key in ("languages", "drop_flags"):
        if isinstance(values.get(key), list):
            values[key] = tuple(values[key])
    try:
        return cls(**values)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from e


def _source(data: Any, where: str) -> SourceSpec:
    if isinstance(data, dict) and "file" in data:
        data = {k: v for k, v in data.items() if k != "file"} | {"builder": "file", "source": data["file"]}
    if isinstance(data, dict) and "builder" not in data:
        raise ConfigError(f"{where}: a source needs 'builder' (or 'file')", hint="see `ru-llm dataset list`")
    spec = _build(SourceSpec, data, where)
    if spec.max is not None and (not isinstance(spec.max, int) or spec.max < 0):
        raise ConfigError(f"{where}.max: expected a non-negative integer, got {spec.max!r}")
    if not isinstance(spec.weight, (int, float)) or spec.weight <= 0:
        raise ConfigError(f"{where}.weight: expected a positive number, got {spec.weight!r}")
    if not isinstance(spec.options, dict):
        raise ConfigError(f"{where}.options: expected a mapping")
    return spec


def parse_recipe(data: Any, where: str = "recipe") -> Recipe:
    """Validate a decoded recipe mapping."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(Recipe)})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}", hint="see `ru-llm dataset build --help`")
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError(f"{where}: 'sources' must be a non-empty list")
    sources = tuple(_source(s, f"{where}: sources[{i}]") for i, s in enumerate(raw_sources))
    labels = [s.label for s in sources]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ConfigError(f"{where}: two sources are called {duplicates[0]!r}", hint="give one a 'name'")
    rest = {k: v for k, v in data.items() if k != "sources"}
    rest["filters"] = _build(FilterSpec, rest.get("filters") or {}, f"{where}: filters")
    rest["dedup"] = _build(DedupSpec, rest.get("dedup") or {}, f"{where}: dedup")
    recipe = _build(Recipe, {**rest, "sources": sources}, where)
    if not 0 <= recipe.validation < 1:
        raise ConfigError(f"{where}: validation must be a share in [0, 1), got {recipe.validation!r}")
    if not 0 < recipe.dedup.near_threshold <= 1:
        raise ConfigError(f"{where}: dedup.near_threshold must be in (0, 1]")
    return recipe


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a YAML recipe; errors name the file and the key."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such recipe file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    recipe = parse_recipe(data, where=str(path))
    base = path.parent
    # Relative source paths are relative to the recipe, so a recipe travels with its data.
    sources = tuple(
        dataclasses.replace(s, source=str(base / s.source)) if s.source and not Path(s.source).is_absolute() else s
        for s in recipe.sources
    )
    return dataclasses.replace(recipe, sources=sources)
