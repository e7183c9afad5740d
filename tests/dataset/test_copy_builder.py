"""The `copy` builder: calibration conversations that repeat a text exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from ru_llm.core.errors import ConfigError
from ru_llm.dataset.registry import get_dataset_builder

TEXT = Path(__file__).resolve().parent.parent / "data" / "text" / "ru_ud_gsd_dev.txt"


def test_each_text_becomes_a_repeat_request_answered_by_the_text(tmp_path: Path) -> None:
    source = tmp_path / "texts.txt"
    source.write_text("Москва — столица России.\n\nThe quick brown fox jumps.\nкоротко\n", encoding="utf-8")
    rejects: list = []
    builder = get_dataset_builder("copy")
    convs = list(builder.load(source, {"min_chars": 10, "license": "CC-BY-SA-4.0"}, on_reject=rejects.append))
    assert [c.messages[1].content for c in convs] == ["Москва — столица России.", "The quick brown fox jumps."]
    assert (
        convs[0].messages[0].content == "Повтори следующий текст дословно, ничего не меняя:\n\nМосква — столица России."
    )
    assert convs[1].messages[0].content.startswith("Repeat the following text exactly")
    assert convs[0].license == "CC-BY-SA-4.0" and convs[0].lang == "ru" and convs[1].lang == "en"
    assert sorted(r.reason for r in rejects) == [
        "blank line: no text to copy",
        "text length 7 outside 10..2000 characters",
    ]


def test_the_real_russian_sample_and_option_checks() -> None:
    rejects: list = []
    convs = list(get_dataset_builder("copy").load(TEXT, {"language": "ru"}, on_reject=rejects.append))
    assert len(convs) + len(rejects) == sum(1 for _ in TEXT.open(encoding="utf-8"))
    assert all(c.messages[0].content.endswith(c.messages[1].content) for c in convs)
    with pytest.raises(ConfigError, match="must contain \\{text\\}"):
        get_dataset_builder("copy").parse_options({"ru_instruction": "Повтори"})
    with pytest.raises(ConfigError, match="'min_chars' \\(50\\) is above 'max_chars' \\(10\\)"):
        get_dataset_builder("copy").parse_options({"min_chars": 50, "max_chars": 10})
