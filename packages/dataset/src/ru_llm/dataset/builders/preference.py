"""Preference sets: a prompt with a chosen and a rejected reply per record.

* ``preference``: any set in the usual layouts (see :mod:`ru_llm.dataset.preference`): our common
  schema, TRL's ``prompt``/``chosen``/``rejected`` (strings or message lists, explicit or implicit
  prompt) and UltraFeedback-binarized rows. A local file or directory with ``--source`` (recipe
  ``source:``), or a hub set with the option ``hub_id`` (and ``split``, ``config``). Licence, commercial
  use and language are options, because neither a local file nor an arbitrary hub set declares them in a
  form we can trust; a record's own ``license``/``lang``/``source`` (our schema) win.
* ``ultrafeedback_binarized``: ``HuggingFaceH4/ultrafeedback_binarized``, split ``train_prefs`` (the
  highest-rated completion against a random one of the remaining three, per prompt).

UltraFeedback's licence: the dataset card declares MIT, which covers the compilation, but its
completions were written by many models, GPT-4 and GPT-3.5 among them, under their own terms
(OpenAI's forbid using outputs to build competing models), and the preferences are GPT-4's ratings;
prompts come from sets such as ShareGPT and UltraChat. As with the Saiga sets (generated with OpenAI
models), the builder is therefore **not** cleared for commercial use (``commercial = False``), so
``--commercial`` builds refuse it; a user who has cleared it can say so with
``options: {commercial: true}``.

Ids: the record's ``id``, else its ``prompt_id`` (UltraFeedback), else ``<builder>-<row index>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ru_llm.dataset.builders.base import DatasetBuilder
from ru_llm.dataset.builders.common import check_bool, check_optional_str, index_id
from ru_llm.dataset.preference import PreferencePair, preference_from_dict
from ru_llm.dataset.rows import Row


@dataclass(frozen=True)
class PreferenceOptions:
    #: a Hugging Face dataset id to read when no local source is given
    hub_id: str | None = None
    #: the hub dataset's configuration (subset), if it has several
    config: str | None = None
    #: the hub split to read
    split: str = "train"
    #: the data's licence (SPDX-style), for the dataset card and lineage
    license: str = "unknown"
    #: whether the licence allows commercial use; `--commercial` builds refuse sources without it
    commercial: bool = False
    #: the language of the pairs (a record's own "lang" wins)
    lang: str | None = None

    def __post_init__(self) -> None:
        for key in ("hub_id", "config", "lang"):
            check_optional_str(key, getattr(self, key))
        check_optional_str("split", self.split)
        check_optional_str("license", self.license)
        if self.license is None or self.split is None:
            raise ValueError("options 'license' and 'split' must be strings")
        check_bool("commercial", self.commercial)


class PreferenceBuilder(DatasetBuilder):
    name = "preference"
    license = "unknown"
    commercial = False
    lang = None
    description = "Preference pairs (prompt, chosen, rejected): TRL/HF layouts, from a local file or hub_id"
    aliases = ("trl_preference",)
    options_class = PreferenceOptions
    produces = "preference"

    def hub_location(self, options: PreferenceOptions) -> tuple[str | None, str | None, str, str | None]:
        return options.hub_id, options.config, options.split, None

    def convert(self, row: Row, options: Any) -> Iterator[PreferencePair]:
        yield preference_from_dict(
            row.record,
            default_id=index_id(self.name, row),
            source=self.name,
            lang=getattr(options, "lang", None) or self.lang,
            license=getattr(options, "license", None) or self.license,
        )


@dataclass(frozen=True)
class UltraFeedbackOptions:
    #: the hub split: train_prefs / test_prefs (pairs); the *_gen and *_sft splits are not pairs
    split: str = "train_prefs"
    #: set true only if you have cleared the GPT-generated completions and ratings for commercial use
    commercial: bool = False

    def __post_init__(self) -> None:
        check_optional_str("split", self.split)
        if self.split is None or not self.split.endswith("_prefs"):
            raise ValueError(f"option 'split' must be a preference split (train_prefs, test_prefs), got {self.split!r}")
        check_bool("commercial", self.commercial)


class UltraFeedbackBinarizedBuilder(PreferenceBuilder):
    name = "ultrafeedback_binarized"
    hub_id = "HuggingFaceH4/ultrafeedback_binarized"
    hub_split = "train_prefs"
    license = "MIT"
    commercial = False  # see the module docstring: GPT-4/GPT-3.5 completions and GPT-4 ratings
    lang = "en"
    description = "UltraFeedback binarized (HuggingFaceH4): 61k English preference pairs rated by GPT-4"
    aliases = ("ultrafeedback",)
    options_class = UltraFeedbackOptions

    def hub_location(self, options: UltraFeedbackOptions) -> tuple[str | None, str | None, str, str | None]:
        return self.hub_id, None, options.split, None
