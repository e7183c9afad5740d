"""Tests for ru_llm.core.registry: naming, aliases, clashes, overrides and lookups."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ru_llm.core.errors import PluginError, RuLLMError, UnknownNameError
from ru_llm.core.registry import Entry, Registry, normalize_name


@dataclass
class Thing:
    """A registrable object: the registry reads ``name`` and ``aliases`` from it."""

    name: str
    aliases: tuple[str, ...] = ()


class Nameless:
    """An object without a ``name`` attribute."""


@pytest.fixture
def reg() -> Registry[Thing]:
    return Registry("model family", hint="see `ru-llm families`")


# --- normalize_name -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("qwen2", "qwen2"),
        ("Qwen2", "qwen2"),
        ("saiga-mistral", "saiga_mistral"),
        ("SAIGA_Mistral", "saiga_mistral"),
        ("  llama-3.1 ", "llama_3.1"),
    ],
)
def test_normalize_name_is_case_insensitive_and_joins_dash_and_underscore(raw: str, key: str) -> None:
    assert normalize_name(raw) == key


# --- registering --------------------------------------------------------------------------------


def test_register_uses_obj_name_and_returns_obj(reg: Registry[Thing]) -> None:
    qwen = Thing("qwen2")
    assert reg.register(qwen) is qwen
    assert reg.get("qwen2") is qwen
    assert reg.names() == ["qwen2"]


def test_register_uses_obj_aliases(reg: Registry[Thing]) -> None:
    saiga = Thing("saiga-mistral", aliases=("saiga", "saiga-7b"))
    reg.register(saiga)
    assert reg.get("saiga") is saiga
    assert reg.get("saiga-7b") is saiga
    assert reg.entry("saiga").aliases == ("saiga", "saiga-7b")


def test_explicit_name_and_aliases_win_over_obj_attributes(reg: Registry[Thing]) -> None:
    obj = Thing("ignored", aliases=("also-ignored",))
    reg.register(obj, name="custom", aliases=["alt"])
    assert reg.get("custom") is obj
    assert reg.get("alt") is obj
    assert "ignored" not in reg
    assert "also-ignored" not in reg
    entry = reg.entry("custom")
    assert entry.name == "custom"
    assert entry.aliases == ("alt",)


def test_register_accepts_object_without_name_when_name_given(reg: Registry[Nameless]) -> None:
    obj = Nameless()
    reg.register(obj, name="plain")
    assert reg.get("plain") is obj
    assert reg.entry("plain").aliases == ()


def test_aliases_may_be_any_iterable(reg: Registry[Thing]) -> None:
    obj = Thing("gemma")
    reg.register(obj, aliases=(a for a in ["gemma2", "gemma-it"]))
    assert reg.get("gemma2") is obj
    assert reg.get("gemma_it") is obj
    assert reg.entry("gemma").aliases == ("gemma2", "gemma-it")


def test_entry_records_plugin_and_canonical_name(reg: Registry[Thing]) -> None:
    obj = Thing("mistral", aliases=("mistral-7b",))
    reg.register(obj, plugin="ru-llm-extra")
    entry = reg.entry("MISTRAL_7B")
    assert entry == Entry(name="mistral", obj=obj, aliases=("mistral-7b",), plugin="ru-llm-extra")


def test_entry_without_plugin_has_plugin_none(reg: Registry[Thing]) -> None:
    reg.register(Thing("llama"))
    assert reg.entry("llama").plugin is None


# --- case-insensitive, '-' == '_' lookup ---------------------------------------------------------


@pytest.mark.parametrize("query", ["saiga-mistral", "saiga_mistral", "SAIGA-MISTRAL", "Saiga_Mistral"])
def test_lookup_by_name_ignores_case_and_dash_underscore(reg: Registry[Thing], query: str) -> None:
    obj = reg.register(Thing("saiga-mistral"))
    assert reg.get(query) is obj
    assert query in reg


@pytest.mark.parametrize("query", ["vikhr-7b", "VIKHR_7B", "Vikhr-7B"])
def test_lookup_by_alias_ignores_case_and_dash_underscore(reg: Registry[Thing], query: str) -> None:
    obj = reg.register(Thing("vikhr", aliases=("vikhr_7b",)))
    assert reg.get(query) is obj
    assert reg.entry(query).name == "vikhr"


def test_dot_is_not_the_same_as_dash(reg: Registry[Thing]) -> None:
    reg.register(Thing("llama-3.1"))
    assert "llama_3.1" in reg
    assert "llama-3-1" not in reg
    assert "llama_3_1" not in reg


# --- duplicates -----------------------------------------------------------------------------------


def test_duplicate_name_raises_plugin_error_naming_both_plugins(reg: Registry[Thing]) -> None:
    reg.register(Thing("qwen2"), plugin="first-plugin")
    with pytest.raises(PluginError) as info:
        reg.register(Thing("qwen2"), plugin="second-plugin")
    message = str(info.value)
    assert "first-plugin" in message
    assert "second-plugin" in message
    assert "'qwen2'" in message
    assert "model family" in message
    assert info.value.hint is not None
    assert "override=True" in info.value.hint


def test_duplicate_name_differing_only_by_dash_raises(reg: Registry[Thing]) -> None:
    reg.register(Thing("saiga-mistral"), plugin="a")
    with pytest.raises(PluginError, match="already registered as 'saiga-mistral' by plugin a"):
        reg.register(Thing("saiga_mistral"), plugin="b")


def test_new_name_clashing_with_existing_alias_raises(reg: Registry[Thing]) -> None:
    reg.register(Thing("saiga-mistral", aliases=("saiga",)), plugin="core")
    with pytest.raises(PluginError) as info:
        reg.register(Thing("saiga"), plugin="extra")
    message = str(info.value)
    assert "'saiga'" in message
    assert "'saiga-mistral'" in message
    assert "plugin core" in message
    assert "plugin extra" in message


def test_new_alias_clashing_with_existing_name_raises(reg: Registry[Thing]) -> None:
    reg.register(Thing("qwen2"), plugin="core")
    with pytest.raises(PluginError, match=r"'qwen2.5'.*clashes with 'qwen2'.*plugin core"):
        reg.register(Thing("qwen2.5", aliases=("Qwen2",)), plugin="extra")


def test_clash_with_unnamed_plugins_uses_question_mark(reg: Registry[Thing]) -> None:
    reg.register(Thing("gemma"))
    with pytest.raises(PluginError, match=r"from plugin \? clashes .* by plugin \?"):
        reg.register(Thing("gemma"))


def test_failed_duplicate_registration_leaves_registry_unchanged(reg: Registry[Thing]) -> None:
    original = reg.register(Thing("qwen2", aliases=("qwen",)), plugin="core")
    with pytest.raises(PluginError):
        reg.register(Thing("qwen3", aliases=("qwen",)), plugin="extra")
    assert reg.names() == ["qwen2"]
    assert "qwen3" not in reg
    assert reg.get("qwen") is original
    assert len(reg) == 1


def test_alias_repeating_own_name_raises(reg: Registry[Thing]) -> None:
    with pytest.raises(PluginError, match="repeats a name in its aliases"):
        reg.register(Thing("saiga-mistral", aliases=("saiga_mistral",)), plugin="p")
    assert len(reg) == 0


def test_repeated_alias_raises(reg: Registry[Thing]) -> None:
    with pytest.raises(PluginError, match=r"'llama' from plugin p repeats a name"):
        reg.register(Thing("llama", aliases=("llama3", "LLAMA3")), plugin="p")
    assert "llama" not in reg


# --- override -------------------------------------------------------------------------------------


def test_override_replaces_entry_and_plugin(reg: Registry[Thing]) -> None:
    reg.register(Thing("qwen2"), plugin="core")
    replacement = Thing("qwen2")
    assert reg.register(replacement, override=True, plugin="patched") is replacement
    assert reg.get("qwen2") is replacement
    assert reg.entry("qwen2").plugin == "patched"
    assert len(reg) == 1


def test_override_drops_old_entry_aliases(reg: Registry[Thing]) -> None:
    reg.register(Thing("saiga", aliases=("saiga-mistral", "saiga-7b")), plugin="core")
    new = reg.register(Thing("saiga", aliases=("saiga-v2",)), override=True, plugin="extra")
    assert "saiga-mistral" not in reg
    assert "saiga-7b" not in reg
    assert reg.get("saiga-v2") is new
    assert reg.entry("saiga").aliases == ("saiga-v2",)


def test_override_via_alias_replaces_whole_old_entry(reg: Registry[Thing]) -> None:
    reg.register(Thing("saiga-mistral", aliases=("saiga", "saiga-7b")), plugin="core")
    new = reg.register(Thing("saiga"), override=True, plugin="extra")
    # The old entry is gone under every one of its names, not just the clashing alias.
    assert "saiga-mistral" not in reg
    assert "saiga-7b" not in reg
    assert reg.get("saiga") is new
    assert reg.names() == ["saiga"]


def test_override_replaces_every_clashing_entry(reg: Registry[Thing]) -> None:
    reg.register(Thing("llama2"), plugin="a")
    reg.register(Thing("llama3"), plugin="b")
    reg.register(Thing("mistral"), plugin="c")
    merged = reg.register(Thing("llama", aliases=("llama2", "llama3")), override=True, plugin="d")
    assert sorted(reg.names()) == ["llama", "mistral"]
    assert reg.get("llama2") is merged
    assert reg.get("llama3") is merged
    assert {e.plugin for e in reg.entries()} == {"c", "d"}


def test_override_without_clash_just_registers(reg: Registry[Thing]) -> None:
    obj = reg.register(Thing("phi"), override=True)
    assert reg.get("phi") is obj
    assert len(reg) == 1


# --- invalid names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["", "Qwen2", "has space", "-leading-dash", "_leading", ".dot", "qwen/2", "сайга", "a!"],
)
def test_invalid_name_is_rejected(reg: Registry[Thing], bad: str) -> None:
    with pytest.raises(PluginError, match="has an invalid name") as info:
        reg.register(Thing(bad), plugin="bad-plugin")
    assert "bad-plugin" in str(info.value)
    assert info.value.hint is not None
    assert len(reg) == 0


@pytest.mark.parametrize("good", ["a", "7b", "qwen2.5", "saiga-mistral_7b", "x-"])
def test_valid_names_are_accepted(reg: Registry[Thing], good: str) -> None:
    obj = reg.register(Thing(good))
    assert reg.get(good) is obj


def test_object_without_name_and_no_name_given_is_rejected(reg: Registry[Nameless]) -> None:
    with pytest.raises(PluginError, match=r"None .*has an invalid name"):
        reg.register(Nameless(), plugin="p")


def test_non_string_name_is_rejected(reg: Registry[Thing]) -> None:
    with pytest.raises(PluginError, match="invalid name"):
        reg.register(Thing("x"), name=42)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad_alias", ["", "has space", 5])
def test_invalid_alias_is_rejected_with_plugin_error(reg: Registry[Thing], bad_alias: object) -> None:
    with pytest.raises(PluginError):
        reg.register(Thing("qwen2"), aliases=[bad_alias], plugin="p")  # type: ignore[list-item]


# --- unknown names --------------------------------------------------------------------------------


def test_unknown_name_lists_known_names_sorted(reg: Registry[Thing]) -> None:
    for name in ("qwen2", "llama", "mistral"):
        reg.register(Thing(name))
    with pytest.raises(UnknownNameError) as info:
        reg.get("gpt2")
    error = info.value
    assert error.kind == "model family"
    assert error.name == "gpt2"
    assert error.known == ["llama", "mistral", "qwen2"]
    assert "Known: llama, mistral, qwen2" in str(error)
    assert "unknown model family 'gpt2'" in str(error)
    assert error.hint == "see `ru-llm families`"


def test_unknown_name_suggests_closest(reg: Registry[Thing]) -> None:
    for name in ("saiga-mistral", "llama", "qwen2"):
        reg.register(Thing(name))
    with pytest.raises(UnknownNameError) as info:
        reg.entry("saiga-mistrl")
    assert info.value.suggestion == "saiga-mistral"
    assert "did you mean 'saiga-mistral'?" in str(info.value)


def test_unknown_name_suggestion_ignores_case(reg: Registry[Thing]) -> None:
    reg.register(Thing("mistral"))
    with pytest.raises(UnknownNameError) as info:
        reg.get("MISTRL")
    assert info.value.suggestion == "mistral"


def test_unknown_name_without_close_match_has_no_suggestion(reg: Registry[Thing]) -> None:
    reg.register(Thing("qwen2"))
    with pytest.raises(UnknownNameError) as info:
        reg.get("completely-different")
    assert info.value.suggestion is None
    assert "did you mean" not in str(info.value)


def test_unknown_name_in_empty_registry_says_none_registered(reg: Registry[Thing]) -> None:
    with pytest.raises(UnknownNameError, match=r"\(none registered\)"):
        reg.get("qwen2")


def test_unknown_name_error_is_lookup_and_rullm_error(reg: Registry[Thing]) -> None:
    with pytest.raises(UnknownNameError) as info:
        reg.get("nope")
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, RuLLMError)
    # str() is the plain message, not the repr() KeyError/LookupError would give.
    assert str(info.value) == info.value.message
    assert not str(info.value).startswith('"')


def test_unknown_name_lists_only_canonical_names(reg: Registry[Thing]) -> None:
    reg.register(Thing("saiga-mistral", aliases=("saiga",)))
    with pytest.raises(UnknownNameError) as info:
        reg.get("vikhr")
    assert info.value.known == ["saiga-mistral"]


# --- callback -------------------------------------------------------------------------------------


def test_callback_attributes_entries_to_plugin(reg: Registry[Thing]) -> None:
    register = reg.callback("ru-llm-vikhr")
    obj = Thing("vikhr", aliases=("vikhr-7b",))
    assert register(obj) is obj
    assert reg.entry("vikhr-7b").plugin == "ru-llm-vikhr"


def test_callbacks_for_different_plugins_are_named_in_clash(reg: Registry[Thing]) -> None:
    reg.callback("alpha")(Thing("gemma"))
    with pytest.raises(PluginError) as info:
        reg.callback("beta")(Thing("gemma"))
    assert "plugin alpha" in str(info.value)
    assert "plugin beta" in str(info.value)


def test_callback_passes_aliases_and_override(reg: Registry[Thing]) -> None:
    reg.callback("core")(Thing("qwen2"), aliases=["qwen"])
    assert reg.entry("qwen").name == "qwen2"
    new = reg.callback("patch")(Thing("qwen2"), override=True)
    assert reg.get("qwen2") is new
    assert reg.entry("qwen2").plugin == "patch"
    assert "qwen" not in reg


def test_callback_does_not_let_plugin_choose_name_or_plugin(reg: Registry[Thing]) -> None:
    register = reg.callback("p")
    with pytest.raises(TypeError):
        register(Thing("x"), plugin="someone-else")
    with pytest.raises(TypeError):
        register(Thing("x"), name="y")


# --- order and container protocol -----------------------------------------------------------------


def test_names_and_entries_keep_registration_order(reg: Registry[Thing]) -> None:
    objs = [Thing("qwen2"), Thing("llama"), Thing("mistral", aliases=("mistral-7b",)), Thing("gemma")]
    for i, obj in enumerate(objs):
        reg.register(obj, plugin=f"p{i}")
    assert reg.names() == ["qwen2", "llama", "mistral", "gemma"]
    assert [e.obj for e in reg.entries()] == objs
    assert [e.plugin for e in reg.entries()] == ["p0", "p1", "p2", "p3"]
    assert list(reg) == objs


def test_names_and_entries_return_copies(reg: Registry[Thing]) -> None:
    reg.register(Thing("qwen2"))
    reg.names().append("fake")
    reg.entries().clear()
    assert reg.names() == ["qwen2"]
    assert len(reg.entries()) == 1


def test_contains_accepts_names_and_aliases_and_rejects_non_strings(reg: Registry[Thing]) -> None:
    reg.register(Thing("saiga-mistral", aliases=("saiga",)))
    assert "saiga-mistral" in reg
    assert "SAIGA_MISTRAL" in reg
    assert "Saiga" in reg
    assert "vikhr" not in reg
    assert 5 not in reg
    assert None not in reg
    assert Thing("saiga") not in reg


def test_len_counts_entries_not_aliases(reg: Registry[Thing]) -> None:
    assert len(reg) == 0
    reg.register(Thing("saiga", aliases=("a", "b", "c")))
    reg.register(Thing("qwen2"))
    assert len(reg) == 2


def test_iter_yields_objects_once_each(reg: Registry[Thing]) -> None:
    a = reg.register(Thing("a", aliases=("a1", "a2")))
    b = reg.register(Thing("b"))
    assert list(iter(reg)) == [a, b]
    # Iterating twice gives the same objects again.
    assert list(reg) == [a, b]


def test_empty_registry(reg: Registry[Thing]) -> None:
    assert len(reg) == 0
    assert list(reg) == []
    assert reg.names() == []
    assert reg.entries() == []
    assert "anything" not in reg


def test_repr_shows_kind_and_names(reg: Registry[Thing]) -> None:
    reg.register(Thing("qwen2"))
    reg.register(Thing("llama"))
    assert repr(reg) == "Registry('model family', ['qwen2', 'llama'])"


def test_registries_are_independent() -> None:
    first: Registry[Thing] = Registry("template")
    second: Registry[Thing] = Registry("translator")
    first.register(Thing("chatml"))
    assert "chatml" in first
    assert "chatml" not in second
    with pytest.raises(UnknownNameError, match="unknown translator 'chatml'"):
        second.get("chatml")
