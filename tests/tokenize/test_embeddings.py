"""New-embedding initializers: the built-ins, the registry they come from, and a plugin's own rule."""

from __future__ import annotations

import types

import pytest
import torch

import ru_llm.tokenize.builtin_initializers as builtin_initializers
from ru_llm.core import PluginError, UnknownNameError, hookimpl
from ru_llm.tokenize.embeddings import (
    EmbeddingInitializer,
    FirstWeightedInitializer,
    MeanInitializer,
    NormalInitializer,
    get_embedding_initializer,
)


@pytest.fixture(autouse=True)
def builtins(plugin_manager):
    """The built-ins, whether or not the package lists them yet."""
    plugin_manager.sync_packages()
    if not plugin_manager.has_plugin(builtin_initializers.__name__):
        plugin_manager.register(builtin_initializers, name=builtin_initializers.__name__)
    return plugin_manager


OLD = torch.arange(12, dtype=torch.float32).reshape(4, 3)


def rows(init: EmbeddingInitializer, sub_tokens, seed: int = 0) -> torch.Tensor:
    return init.new_rows(OLD, sub_tokens, matrix="input", generator=torch.Generator().manual_seed(seed))


def test_the_builtins_are_registered_by_name_and_alias() -> None:
    assert isinstance(get_embedding_initializer("mean"), MeanInitializer)
    assert isinstance(get_embedding_initializer("first_weighted"), FirstWeightedInitializer)
    assert isinstance(get_embedding_initializer("Normal"), NormalInitializer)


def test_an_unknown_initializer_lists_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown embedding initializer 'meen'; did you mean 'mean'"):
        get_embedding_initializer("meen")


def test_mean_is_the_mean_of_the_sub_token_rows() -> None:
    got = rows(MeanInitializer(), [[0, 2], [3]])
    assert torch.allclose(got[0], (OLD[0] + OLD[2]) / 2)
    assert torch.equal(got[1], OLD[3])


def test_a_token_without_sub_tokens_gets_the_mean_of_all_rows() -> None:
    for init in (MeanInitializer(), FirstWeightedInitializer()):
        assert torch.allclose(rows(init, [[]])[0], OLD.mean(dim=0))


def test_first_weighted_favours_the_first_sub_token() -> None:
    init = FirstWeightedInitializer(first_weight=0.6)
    assert init.weights(1) == [1.0]
    assert init.weights(3) == pytest.approx([0.6, 0.2, 0.2])
    got = rows(init, [[1, 0, 3]])
    assert torch.allclose(got[0], 0.6 * OLD[1] + 0.2 * OLD[0] + 0.2 * OLD[3])


def test_first_weight_out_of_range_is_an_error() -> None:
    with pytest.raises(Exception, match="first_weight must be in"):
        FirstWeightedInitializer(first_weight=0)


def test_normal_is_seeded_and_spread_like_the_old_matrix() -> None:
    old = torch.randn(500, 8, generator=torch.Generator().manual_seed(1)) * 3 + 1
    init = NormalInitializer()
    a = init.new_rows(old, [[]] * 2000, matrix="input", generator=torch.Generator().manual_seed(5))
    b = init.new_rows(old, [[]] * 2000, matrix="input", generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert a.std().item() == pytest.approx(old.std().item(), rel=0.1)
    assert torch.allclose(a.mean(dim=0), old.mean(dim=0), atol=0.3)


def test_rows_keep_the_old_dtype() -> None:
    old = OLD.to(torch.bfloat16)
    for init in (MeanInitializer(), FirstWeightedInitializer(), NormalInitializer()):
        got = init.new_rows(old, [[0, 1]], matrix="output", generator=torch.Generator().manual_seed(0))
        assert got.dtype == torch.bfloat16 and got.shape == (1, 3)


def test_a_plugin_initializer_is_found_and_a_non_initializer_is_refused(builtins) -> None:
    class Zeros(EmbeddingInitializer):
        name = "zeros"

        def new_rows(self, old, sub_tokens, *, matrix, generator):
            return torch.zeros(len(sub_tokens), old.shape[1], dtype=old.dtype)

    class Broken:
        name = "broken"

    plugin = types.ModuleType("zeros_plugin")
    plugin.register_embedding_initializers = hookimpl(lambda register: register(Zeros()))
    builtins.register(plugin, name="zeros_plugin")
    assert torch.equal(rows(get_embedding_initializer("zeros"), [[1]]), torch.zeros(1, 3))
    broken = types.ModuleType("broken_plugin")
    broken.register_embedding_initializers = hookimpl(lambda register: register(Broken()))
    builtins.register(broken, name="broken_plugin")
    with pytest.raises(PluginError, match="plugin broken_plugin registered .* but it is not an EmbeddingInitializer"):
        get_embedding_initializer("broken")
