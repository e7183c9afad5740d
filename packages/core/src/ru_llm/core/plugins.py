"""The ru-llm plugin manager (pluggy project and entry-point group ``ru_llm``).

Each ru-llm package announces itself with :func:`add_package` when it is imported: its hookspecs module
and its built-in plugin modules. The manager is built on first use, registers the built-ins through the
very hooks third-party plugins use, then loads the ``ru_llm`` entry points:

* ``RU_LLM_DISABLE_PLUGIN_AUTOLOAD=1`` loads no entry point at all;
* ``RU_LLM_LOAD_PLUGINS=a,b`` loads only the named ones (entry-point or distribution names; empty: none).

Registry hooks (``register_<things>(register)``) are turned into :class:`Registry` objects by
:meth:`PluginManager.registry`: built-in plugins register first, then third-party plugins in load order,
so a plugin can replace a built-in with ``register(obj, override=True)``.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

from ru_llm.core.errors import PluginError, RuLLMError
from ru_llm.core.registry import Registry, normalize_name

PROJECT = "ru_llm"
ENTRY_POINT_GROUP = "ru_llm"
DISABLE_AUTOLOAD_ENV = "RU_LLM_DISABLE_PLUGIN_AUTOLOAD"
LOAD_PLUGINS_ENV = "RU_LLM_LOAD_PLUGINS"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

_AUTOLOAD_HINT = f"fix or uninstall the plugin, or set {DISABLE_AUTOLOAD_ENV}=1 to skip third-party plugins"
# pluggy's ordering and wrapping options: ru-llm calls every implementation itself (built-ins first, then
# plugins in load order, see PluginManager.ordered_calls), so these would be silently ignored; refused instead.
_UNSUPPORTED_IMPL_OPTIONS = ("tryfirst", "trylast", "wrapper", "hookwrapper")
# How alike (difflib ratio of the part after "register_") an unknown hook name must be to a known one to be
# taken for a misspelling of it. Distinct ru-llm hooks are at most 0.56 alike; a dropped letter is above 0.84.
_TYPO_CUTOFF = 0.8


@dataclass(frozen=True)
class PackageHooks:
    """What one ru-llm distribution contributes: its hookspecs and its built-in plugin modules."""

    distribution: str
    hookspecs: str
    builtins: tuple[str, ...] = ()


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin, as ``ru-llm plugins`` shows it."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    builtin: bool


_packages: dict[str, PackageHooks] = {}


def add_package(distribution: str, *, hookspecs: str, builtins: tuple[str, ...] = ()) -> None:
    """Announce a ru-llm package; called once from the package's ``__init__``.

    Only module names are recorded here: nothing is imported until a plugin manager is used, so
    importing a package stays cheap.
    """
    _packages[distribution] = PackageHooks(distribution, hookspecs, tuple(builtins))


def env_flag(name: str) -> bool:
    """Whether an environment switch such as ``RU_LLM_DEBUG`` is on (1, true, yes, on)."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _env_allow_list() -> set[str] | None:
    raw = os.environ.get(LOAD_PLUGINS_ENV)
    if raw is None:
        return None
    return {normalize_name(part) for part in raw.split(",") if part.strip()}


def _dist_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus ru-llm's package bookkeeping, entry-point loading and registries."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self._added: set[str] = set()
        self._builtin_names: list[str] = []
        self._origins: dict[str, tuple[str | None, str | None]] = {}  # plugin name -> (dist, version)
        self._registries: dict[tuple[Any, ...], Registry[Any]] = {}  # (hook, kind, hint, expect) -> registry

    # -- packages and plugins -------------------------------------------------------------------
    def sync_packages(self) -> None:
        """Add the hookspecs and built-ins of every package announced since the last call."""
        for pkg in list(_packages.values()):
            if pkg.distribution not in self._added:
                self._add_package(pkg)

    def _add_package(self, pkg: PackageHooks) -> None:
        try:
            self.add_hookspecs(importlib.import_module(pkg.hookspecs))
        except pluggy.PluginValidationError as e:  # a plugin loaded earlier does not fit the new spec
            raise PluginError(f"plugin {e.plugin_name!r} does not fit {pkg.distribution}'s hooks: {e}") from e
        self._added.add(pkg.distribution)
        for module_name in pkg.builtins:
            if self.has_plugin(module_name):
                continue
            self.register(importlib.import_module(module_name), name=module_name)
            self._builtin_names.append(module_name)
            self._origins[module_name] = (pkg.distribution, _dist_version(pkg.distribution))
        self._registries.clear()

    def register(self, plugin: object, name: str | None = None) -> str | None:
        try:
            registered = super().register(plugin, name=name)
        except pluggy.PluginValidationError as e:
            raise PluginError(f"plugin {name or plugin!r} is invalid: {e}", hint=_AUTOLOAD_HINT) from e
        self._registries.clear()
        if registered is not None:
            self._refuse_unsupported_options(plugin, registered)
        return registered

    def _refuse_unsupported_options(self, plugin: object, name: str) -> None:
        """Unregister ``plugin`` and fail when one of its hook implementations asks for ordering or wrapping."""
        for caller in self.get_hookcallers(plugin) or ():
            for impl in caller.get_hookimpls():
                used = [option for option in _UNSUPPORTED_IMPL_OPTIONS if getattr(impl, option, False)]
                if impl.plugin is not plugin or not used:
                    continue
                self.unregister(plugin)
                raise PluginError(
                    f"plugin {name!r} marks its hook {caller.name!r} @hookimpl({used[0]}=True), which ru-llm does "
                    "not support: every implementation is called once, built-ins first, then plugins in load order",
                    hint="drop the option; to replace a built-in entry, call register(obj, override=True)",
                )

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        removed = super().unregister(plugin=plugin, name=name)
        self._registries.clear()
        return removed

    def load_entry_points(self, allow: set[str] | None = None) -> list[str]:
        """Register the ``ru_llm`` entry points (only those named in ``allow`` when given)."""
        loaded: list[str] = []
        seen: set[str] = set()
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist
            dist_name = dist.name if dist is not None else None
            keys = {normalize_name(ep.name)} | ({normalize_name(dist_name)} if dist_name else set())
            seen |= keys
            if allow is not None and not keys & allow:
                continue
            if self.is_blocked(ep.name):
                continue
            if self.has_plugin(ep.name):
                other = self._origins.get(ep.name, (None, None))[0]
                if other == dist_name:  # the same distribution seen twice on sys.path
                    continue
                raise PluginError(
                    f"two plugins are named {ep.name!r}: one from {other or 'a built-in'}, one from "
                    f"{dist_name or 'an unknown distribution'}",
                    hint="uninstall one of them",
                )
            where = f"entry point {ep.name!r} ({ep.value}) of {dist_name or 'an unknown distribution'}"
            try:
                plugin = ep.load()
            except Exception as e:
                raise PluginError(f"plugin {where} failed to import: {e}", hint=_AUTOLOAD_HINT) from e
            self.register(plugin, name=ep.name)
            self._origins[ep.name] = (dist_name, dist.version if dist is not None else None)
            loaded.append(ep.name)
        missing = sorted((allow or set()) - seen)
        if missing:
            raise PluginError(
                f"{LOAD_PLUGINS_ENV} names {', '.join(missing)}, which no installed distribution provides",
                hint=f"installed ru_llm plugins: {', '.join(sorted(seen)) or 'none'}",
            )
        return loaded

    def check_hooks(self, *, strict: bool = True) -> None:
        """Fail on a plugin that implements a hook no imported package defines (e.g. a typo).

        ``strict`` (the CLI, once it has imported every package): any unknown hook is an error. Not strict
        (library use, from :meth:`registry`): a package that defines a hook may simply not be imported (or
        installed) here, so only a name that is nearly a known hook's, a misspelling, is an error.
        """
        self.sync_packages()
        known = sorted(name for name, caller in vars(self.hook).items() if caller.spec is not None)
        for name, caller in vars(self.hook).items():
            if caller.spec is not None:
                continue
            for impl in caller.get_hookimpls():
                if getattr(impl, "optionalhook", False):
                    continue
                close = difflib.get_close_matches(name, known, n=1)
                if not strict and not _misspelt(name, known):
                    continue
                raise PluginError(
                    f"plugin {impl.plugin_name!r} implements unknown hook {name!r}"
                    + (f"; did you mean {close[0]!r}?" if close else ""),
                    hint="rename the hook, install the ru-llm package that defines it, or mark it "
                    "@hookimpl(optionalhook=True)",
                )

    def is_builtin(self, name: str) -> bool:
        return name in self._builtin_names

    def plugin_infos(self) -> list[PluginInfo]:
        """Every registered plugin with its distribution, version and the hooks it implements."""
        infos = []
        for name, plugin in self.list_name_plugin():
            if plugin is None:  # blocked
                continue
            dist, version = self._origins.get(name, (None, None))
            hooks = tuple(sorted(caller.name for caller in self.get_hookcallers(plugin) or ()))
            infos.append(PluginInfo(name, dist, version, hooks, self.is_builtin(name)))
        return infos

    def ordered_calls(self, hook_name: str) -> list[tuple[str, Callable[..., Any]]]:
        """One ``(plugin name, call)`` per implementation of a hook: built-ins first, then the rest
        in registration order. ``call(**kwargs)`` passes each implementation only the arguments it
        names, as pluggy does, so a hook can grow new arguments.
        """
        caller = getattr(self.hook, hook_name, None)
        if caller is None or caller.spec is None:
            raise PluginError(
                f"no ru-llm package defines the hook {hook_name!r}",
                hint="import the package that owns it first (e.g. ru_llm.dataset for register_templates)",
            )
        impls = caller.get_hookimpls()
        ordered = [i for i in impls if self.is_builtin(i.plugin_name)]
        ordered += [i for i in impls if not self.is_builtin(i.plugin_name)]

        def bind(impl: Any) -> Callable[..., Any]:
            def call(**kwargs: Any) -> Any:
                try:
                    return impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
                except RuLLMError:
                    raise
                except Exception as e:
                    builtin = self.is_builtin(impl.plugin_name)
                    raise PluginError(
                        f"plugin {impl.plugin_name!r} failed in {hook_name}: {type(e).__name__}: {e}",
                        hint="this is a bug in ru-llm: please report it" if builtin else _AUTOLOAD_HINT,
                    ) from e

            return call

        return [(impl.plugin_name, bind(impl)) for impl in ordered]

    # -- registries -----------------------------------------------------------------------------
    def registry(
        self,
        hook_name: str,
        kind: str,
        *,
        hint: str | None = None,
        expect: type | None = None,
        deprecated: tuple[str, ...] = (),
        adapt: Callable[[Any, str | None], Any] | None = None,
    ) -> Registry[Any]:
        """The registry filled by every implementation of the registry hook ``hook_name``.

        Built on first use and rebuilt after any plugin is registered or removed. ``expect``: the
        class (or runtime-checkable Protocol) every registered object must be an instance of.
        ``deprecated``: older names of the same hook, still called (after ``hook_name``) for plugins
        that implement them. ``adapt(obj, plugin)``: completes what an older contract allowed before
        ``expect`` is checked (see :class:`~ru_llm.core.registry.Registry`).
        """
        self.sync_packages()
        key = (hook_name, kind, hint, expect, deprecated, adapt)
        cached = self._registries.get(key)
        if cached is not None:
            return cached
        self.check_hooks(strict=False)  # a misspelt hook would otherwise leave its entries silently unregistered
        registry: Registry[Any] = Registry(kind, hint=hint, expect=expect, adapt=adapt)
        for name in (hook_name, *deprecated):
            for plugin_name, call in self.ordered_calls(name):
                call(register=registry.callback(plugin_name))
        self._registries[key] = registry
        return registry


def _misspelt(name: str, known: list[str]) -> bool:
    """Whether the hook name ``name`` is nearly one of ``known`` (compared after the shared ``register_``)."""
    suffixes = [k.removeprefix("register_") for k in known]
    return bool(difflib.get_close_matches(name.removeprefix("register_"), suffixes, n=1, cutoff=_TYPO_CUTOFF))


_manager: PluginManager | None = None


def build_plugin_manager(*, autoload: bool | None = None, allow: set[str] | None = None) -> PluginManager:
    """A new manager with every announced package's hookspecs and built-ins.

    ``autoload`` defaults to the environment (``RU_LLM_DISABLE_PLUGIN_AUTOLOAD``), ``allow`` to
    ``RU_LLM_LOAD_PLUGINS``.
    """
    pm = PluginManager()
    pm.sync_packages()
    if autoload is None:
        autoload = not env_flag(DISABLE_AUTOLOAD_ENV)
    if autoload:
        pm.load_entry_points(allow if allow is not None else _env_allow_list())
    return pm


def get_plugin_manager() -> PluginManager:
    """The process-wide manager, built on first use; picks up packages imported since."""
    global _manager
    if _manager is None:
        _manager = build_plugin_manager()
    _manager.sync_packages()
    return _manager


def registry(
    hook_name: str,
    kind: str,
    *,
    hint: str | None = None,
    expect: type | None = None,
    deprecated: tuple[str, ...] = (),
    adapt: Callable[[Any, str | None], Any] | None = None,
) -> Registry[Any]:
    """The registry behind a ``register_<things>`` hook (and its ``deprecated`` names), from the process-wide
    manager."""
    return get_plugin_manager().registry(hook_name, kind, hint=hint, expect=expect, deprecated=deprecated, adapt=adapt)


def set_plugin_manager(pm: PluginManager | None) -> PluginManager | None:
    """Replace the process-wide manager (``None``: rebuild on next use); returns the old one. For tests."""
    global _manager
    old, _manager = _manager, pm
    return old
