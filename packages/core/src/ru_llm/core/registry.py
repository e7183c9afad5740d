"""A small registry of named things (model families, templates, translators, ...).

Plugins do not build registries; they call ``register(obj)`` from a ``register_<things>`` hook and the
host owns naming: names are validated, aliases resolved, duplicates refused unless the plugin says
``override=True``, and every entry remembers which plugin registered it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ru_llm.core.errors import PluginError, UnknownNameError

T = TypeVar("T")

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


def _a(noun: str) -> str:
    """``noun`` with its indefinite article."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def normalize_name(name: str) -> str:
    """Lookup key for a name: case-insensitive, and ``-`` and ``_`` are the same character."""
    return name.strip().lower().replace("-", "_")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered object with its canonical name, aliases and the plugin that registered it."""

    name: str
    obj: T
    aliases: tuple[str, ...]
    plugin: str | None


class Registry(Generic[T]):
    """Named objects of one ``kind`` (the word used in error messages, e.g. ``"model family"``)."""

    def __init__(
        self,
        kind: str,
        *,
        hint: str | None = None,
        expect: type | None = None,
        adapt: Callable[[Any, str | None], Any] | None = None,
    ) -> None:
        self.kind = kind
        self.hint = hint
        self.expect = expect  # registered objects must be instances of this (a class or runtime Protocol)
        # adapt(obj, plugin) -> obj: lets a registry keep accepting what an older contract allowed (e.g. a
        # strategy without the members added since) by completing it, before ``expect`` is checked
        self.adapt = adapt
        self._entries: dict[str, Entry[T]] = {}  # canonical key -> entry, in registration order
        self._keys: dict[str, str] = {}  # name or alias key -> canonical key

    def register(
        self,
        obj: T,
        *,
        name: str | None = None,
        aliases: Iterable[str] = (),
        override: bool = False,
        plugin: str | None = None,
    ) -> T:
        """Add ``obj`` under ``name`` (default ``obj.name``) and its aliases (default ``obj.aliases``).

        A name or alias that is already taken is a :class:`PluginError` naming both plugins, unless
        ``override`` is true, in which case the old entry is replaced whole.
        """
        if self.adapt is not None:
            obj = self.adapt(obj, plugin)
        if self.expect is not None and not isinstance(obj, self.expect):
            raise PluginError(
                f"plugin {plugin or '?'} registered {obj!r} as {_a(self.kind)}, but it is not "
                f"{_a(self.expect.__name__)}",
                hint=f"register {self.expect.__module__}.{self.expect.__name__} objects",
            )
        name = name if name is not None else getattr(obj, "name", None)
        aliases = tuple(aliases) or tuple(getattr(obj, "aliases", ()) or ())
        # Canonical names are lower-case; aliases may use any case (lookups ignore it).
        bad = [n for n in (name,) if not isinstance(n, str) or not _NAME.match(n)]
        bad += [a for a in aliases if not isinstance(a, str) or not _NAME.match(a.lower())]
        if bad:
            raise PluginError(
                f"{self.kind} {name!r} from plugin {plugin or '?'} has an invalid name or alias {bad[0]!r}",
                hint="names are lower-case letters, digits, '_', '-' or '.', starting with a letter or digit",
            )
        key = normalize_name(name)
        wanted = [key, *(normalize_name(a) for a in aliases)]
        if len(set(wanted)) != len(wanted):
            raise PluginError(f"{self.kind} {name!r} from plugin {plugin or '?'} repeats a name in its aliases")
        taken = {k: self._keys[k] for k in wanted if k in self._keys}
        if taken and not override:
            k, owner_key = next(iter(taken.items()))
            owner = self._entries[owner_key]
            raise PluginError(
                f"{self.kind} {name!r} from plugin {plugin or '?'} clashes with {k!r}, already registered "
                f"as {owner.name!r} by plugin {owner.plugin or '?'}",
                hint="rename it, or register it with override=True to replace the existing one",
            )
        for owner_key in set(taken.values()):
            self._drop(owner_key)
        self._entries[key] = Entry(name=name, obj=obj, aliases=aliases, plugin=plugin)
        for k in wanted:
            self._keys[k] = key
        return obj

    def _drop(self, key: str) -> None:
        del self._entries[key]
        for alias_key in [k for k, owner in self._keys.items() if owner == key]:
            del self._keys[alias_key]

    def callback(self, plugin: str | None) -> Callable[..., object]:
        """The ``register`` function handed to one plugin's hook, attributing entries to it."""

        def register(obj: T, *, aliases: Iterable[str] = (), override: bool = False) -> T:
            return self.register(obj, aliases=aliases, override=override, plugin=plugin)

        return register

    def entry(self, name: str) -> Entry[T]:
        """The entry for a name or alias; :class:`UnknownNameError` lists the known names."""
        key = self._keys.get(normalize_name(name))
        if key is None:
            raise UnknownNameError(self.kind, name, self.names(), hint=self.hint)
        return self._entries[key]

    def get(self, name: str) -> T:
        """The object registered under a name or alias."""
        return self.entry(name).obj

    def names(self) -> list[str]:
        """Canonical names, in registration order."""
        return [e.name for e in self._entries.values()]

    def entries(self) -> list[Entry[T]]:
        return list(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_name(name) in self._keys

    def __iter__(self) -> Iterator[T]:
        return (e.obj for e in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
