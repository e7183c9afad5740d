"""The plugin manager: built-ins through hooks, entry points, switches, errors, attribution."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from kit.distributions import put_on_path, write_distribution

from ru_llm.core import ModelFamily, PluginError, hookimpl
from ru_llm.core.plugins import (
    DISABLE_AUTOLOAD_ENV,
    LOAD_PLUGINS_ENV,
    build_plugin_manager,
    get_plugin_manager,
    set_plugin_manager,
)

FAMILY_PLUGIN = """
from ru_llm.core import ModelFamily, hookimpl

@hookimpl
def register_model_families(register):
    register(ModelFamily(name="{name}", model_types=("{name}",), lora_target_modules=("q_proj",)))
"""


def family(name: str, **fields: object) -> ModelFamily:
    return ModelFamily(name=name, model_types=(name,), lora_target_modules=("q_proj",), **fields)


def plugin_module(name: str, **hooks: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two installed plugin distributions, visible through importlib.metadata."""
    site = tmp_path / "site"
    write_distribution(
        site, "ru-llm-falcon", "1.2.0", {"falcon": "fam_falcon"},
        modules={"fam_falcon": FAMILY_PLUGIN.format(name="falcon")},
    )  # fmt: skip
    write_distribution(
        site, "ru-llm-mpt", "0.3.1", {"mpt": "fam_mpt"}, modules={"fam_mpt": FAMILY_PLUGIN.format(name="mpt")}
    )
    put_on_path(monkeypatch, [site])
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV)
    return site


def test_builtins_are_registered_through_the_same_hooks(plugin_manager) -> None:
    infos = {i.name: i for i in plugin_manager.plugin_infos()}
    core = infos["ru_llm.core.builtin_families"]
    assert core.builtin and core.distribution == "ru-llm-core" and core.version == "0.1.0"
    assert core.hooks == ("register_model_families",)
    assert infos["ru_llm.cli.builtin_commands"].hooks == ("register_commands",)


def test_entry_points_are_loaded_with_their_distribution(site: Path) -> None:
    pm = get_plugin_manager()
    infos = {i.name: i for i in pm.plugin_infos()}
    assert infos["falcon"].distribution == "ru-llm-falcon"
    assert infos["falcon"].version == "1.2.0"
    assert infos["falcon"].hooks == ("register_model_families",)
    assert not infos["falcon"].builtin
    registry = pm.registry("register_model_families", "model family")
    assert registry.entry("falcon").plugin == "falcon"
    assert "mpt" in registry


def test_disable_autoload_hides_entry_points(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    pm = build_plugin_manager()
    assert not pm.has_plugin("falcon")
    assert pm.has_plugin("ru_llm.core.builtin_families")


@pytest.mark.parametrize("allow", ["falcon", "ru-llm-falcon", "RU_LLM_FALCON"])
def test_allow_list_by_entry_point_or_distribution_name(site: Path, monkeypatch, allow: str) -> None:
    monkeypatch.setenv(LOAD_PLUGINS_ENV, allow)
    pm = build_plugin_manager()
    assert pm.has_plugin("falcon") and not pm.has_plugin("mpt")


def test_empty_allow_list_loads_no_plugin(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "")
    pm = build_plugin_manager()
    assert not pm.has_plugin("falcon") and not pm.has_plugin("mpt")


def test_allow_list_naming_a_missing_plugin_is_an_error(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "falcon,nosuch")
    with pytest.raises(PluginError, match="RU_LLM_LOAD_PLUGINS names nosuch") as info:
        build_plugin_manager()
    assert "falcon" in info.value.hint


def test_a_plugin_that_fails_to_import_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = write_distribution(
        tmp_path, "ru-llm-broken", "0.0.1", {"broken": "broken_plugin"},
        modules={"broken_plugin": "raise RuntimeError('boom')"},
    )  # fmt: skip
    put_on_path(monkeypatch, [site])
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV)
    with pytest.raises(PluginError, match=r"entry point 'broken'.*ru-llm-broken.*boom") as info:
        build_plugin_manager()
    assert DISABLE_AUTOLOAD_ENV in info.value.hint


def test_misspelt_hook_is_reported_with_the_right_name(plugin_manager) -> None:
    plugin_manager.register(plugin_module("typo", register_model_familes=lambda register: None), name="typo")
    with pytest.raises(PluginError, match=r"unknown hook 'register_model_familes'.*'register_model_families'"):
        plugin_manager.check_hooks()


def test_optional_hooks_pass_the_check(plugin_manager) -> None:
    module = types.ModuleType("future")
    module.register_something_new = hookimpl(optionalhook=True)(lambda register: None)
    plugin_manager.register(module, name="future")
    plugin_manager.check_hooks()


def test_wrong_hook_arguments_are_a_plugin_error(plugin_manager) -> None:
    bad = plugin_module("bad", register_model_families=lambda registr: None)
    with pytest.raises(PluginError, match="plugin 'bad' is invalid"):
        plugin_manager.register(bad, name="bad")


def test_plugin_duplicate_names_both_plugins(plugin_manager) -> None:
    plugin_manager.register(
        plugin_module("dup", register_model_families=lambda register: register(family("llama"))), name="dup"
    )
    with pytest.raises(PluginError, match=r"'llama' from plugin dup.*ru_llm\.core\.builtin_families") as info:
        plugin_manager.registry("register_model_families", "model family")
    assert "override=True" in info.value.hint


def test_plugin_override_replaces_a_builtin_even_when_registered_first(plugin_manager) -> None:
    # The overriding plugin registers before the built-ins are (re)announced: built-ins still go first.
    override = plugin_module(
        "better_llama",
        register_model_families=lambda register: register(family("llama", aliases=("l2",)), override=True),
    )
    set_plugin_manager(None)
    pm = build_plugin_manager(autoload=False)
    pm.register(override, name="better_llama")
    registry = pm.registry("register_model_families", "model family")
    assert registry.entry("llama").plugin == "better_llama"
    assert registry.get("l2").model_types == ("llama",)
    assert "llama2" not in registry  # the built-in's aliases went with it


def test_failing_hook_is_wrapped_with_the_plugin_name(plugin_manager) -> None:
    def explode(register):
        raise ValueError("bad config")

    plugin_manager.register(plugin_module("exploding", register_model_families=explode), name="exploding")
    with pytest.raises(PluginError, match="plugin 'exploding' failed in register_model_families: ValueError"):
        plugin_manager.registry("register_model_families", "model family")


def test_registering_the_wrong_type_is_refused(plugin_manager) -> None:
    plugin_manager.register(
        plugin_module("wrong", register_model_families=lambda register: register("llama")), name="wrong"
    )
    with pytest.raises(PluginError, match="registered 'llama' as a model family, but it is not a ModelFamily"):
        plugin_manager.registry("register_model_families", "model family", expect=ModelFamily)


def test_hook_implementations_may_take_fewer_arguments(plugin_manager) -> None:
    calls = []
    plugin_manager.register(plugin_module("quiet", register_model_families=lambda: calls.append(1)), name="quiet")
    plugin_manager.registry("register_model_families", "model family")
    assert calls == [1]


def test_registry_is_cached_and_rebuilt_when_plugins_change(plugin_manager) -> None:
    first = plugin_manager.registry("register_model_families", "model family")
    assert plugin_manager.registry("register_model_families", "model family") is first
    module = plugin_module("extra", register_model_families=lambda register: register(family("extra")))
    plugin_manager.register(module, name="extra")
    second = plugin_manager.registry("register_model_families", "model family")
    assert second is not first and "extra" in second
    plugin_manager.unregister(name="extra")
    assert "extra" not in plugin_manager.registry("register_model_families", "model family")


def test_unknown_hook_name_for_a_registry(plugin_manager) -> None:
    with pytest.raises(PluginError, match="no ru-llm package defines the hook 'register_nothing'"):
        plugin_manager.registry("register_nothing", "thing")


def test_two_distributions_with_the_same_plugin_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for dist in ("ru-llm-one", "ru-llm-two"):
        write_distribution(tmp_path / dist, dist, "1.0", {"same": "fam_same"})
        put_on_path(monkeypatch, [tmp_path / dist])
    (tmp_path / "ru-llm-one" / "fam_same.py").write_text(FAMILY_PLUGIN.format(name="same"))
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV)
    with pytest.raises(PluginError, match="two plugins are named 'same': one from ru-llm-(one|two), one from"):
        build_plugin_manager()


def test_registry_cache_respects_the_expected_type(plugin_manager) -> None:
    plugin_manager.register(
        plugin_module("wrong", register_model_families=lambda register: register(types.SimpleNamespace(name="x"))),
        name="wrong",
    )
    assert "x" in plugin_manager.registry("register_model_families", "model family")
    with pytest.raises(PluginError, match="not a ModelFamily"):
        plugin_manager.registry("register_model_families", "model family", expect=ModelFamily)


def test_a_failing_builtin_hook_is_reported_as_our_bug(plugin_manager, monkeypatch: pytest.MonkeyPatch) -> None:
    import ru_llm.core.builtin_families as builtin

    monkeypatch.setattr(builtin, "BUILTIN_FAMILIES", 5)  # iterating it raises TypeError inside the hook
    with pytest.raises(PluginError, match="ru_llm.core.builtin_families' failed .*TypeError") as info:
        plugin_manager.registry("register_model_families", "model family", expect=ModelFamily)
    assert "bug in ru-llm" in info.value.hint


def test_plugin_for_a_package_it_does_not_import_passes_the_cli_check(tmp_path: Path) -> None:
    # In a fresh interpreter the CLI imports the packages itself before checking hook names.
    import json
    import os
    import subprocess
    import sys

    site = write_distribution(
        tmp_path, "ru-llm-mt-extra", "0.2.0", {"mt_extra": "mt_extra"},
        modules={"mt_extra": "from ru_llm.core import hookimpl\n\n@hookimpl\ndef register_translators(register):\n"
                 "    pass\n"},
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("RU_LLM_")}
    env["PYTHONPATH"] = str(site)
    result = subprocess.run(
        [sys.executable, "-m", "ru_llm.cli", "plugins", "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert {"name": "mt_extra", "hooks": ["register_translators"]}.items() <= {
        k: v for p in json.loads(result.stdout) if p["name"] == "mt_extra" for k, v in p.items()
    }.items()


@pytest.mark.parametrize("option", ["tryfirst", "trylast", "wrapper", "hookwrapper"])
def test_ordering_and_wrapper_impls_are_refused_at_registration(plugin_manager, option: str) -> None:
    # ru-llm calls each implementation itself, so pluggy's ordering and wrapping would be silently ignored.
    def wrapped(register):
        yield

    def plain(register):
        register(family("ordered"))

    module = types.ModuleType("ordered")
    function = wrapped if "wrapper" in option else plain
    module.register_model_families = hookimpl(**{option: True})(function)
    with pytest.raises(PluginError, match=rf"plugin 'ordered' marks its hook 'register_model_families' "
                                          rf"@hookimpl\({option}=True\), which ru-llm does not support"):  # fmt: skip
        plugin_manager.register(module, name="ordered")
    assert not plugin_manager.has_plugin("ordered")
    from ru_llm.core import model_families

    assert "ordered" not in model_families()


def test_a_misspelt_hook_fails_in_library_use_too(plugin_manager) -> None:
    from ru_llm.core import model_families

    plugin_manager.register(plugin_module("typo", register_model_familys=lambda register: None), name="typo")
    with pytest.raises(PluginError, match=r"plugin 'typo' implements unknown hook 'register_model_familys'; "
                                          r"did you mean 'register_model_families'\?"):  # fmt: skip
        model_families()


def test_library_use_tolerates_hooks_of_packages_it_has_not_imported(plugin_manager) -> None:
    # A plugin may serve a package that is not installed here; only the CLI, which imports every package,
    # treats any unknown hook as an error.
    from ru_llm.core import model_families

    plugin_manager.register(plugin_module("widgets", register_widgets=lambda register: None), name="widgets")
    assert "llama" in model_families()
    with pytest.raises(PluginError, match="unknown hook 'register_widgets'"):
        plugin_manager.check_hooks()
