"""``copy``: calibration conversations that ask the model to repeat a text exactly (Ruadapt's copy task).

After a vocabulary change, a model must learn to reproduce text token for token again; Ruadapt
calibrates on a mix of instructions and this task. Each text (one per line of a ``.txt`` file, or the
``text`` field of JSONL/Parquet rows) within the length range becomes a user turn with a repeat
instruction and an assistant turn with the text itself. The instruction's language follows the text
(Cyrillic or not) unless ``language`` fixes it; ``ru_instruction``/``en_instruction`` change the wording.
Licence and commercial use are the text's: set them with the ``license``/``commercial`` options.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ru_llm.core.conversation import Conversation, Message
from ru_llm.core.errors import RecordError
from ru_llm.dataset.builders.base import DatasetBuilder, OnReject
from ru_llm.dataset.builders.common import check_bool, check_choice, index_id
from ru_llm.dataset.rows import Row

RU_INSTRUCTION = "Повтори следующий текст дословно, ничего не меняя:\n\n{text}"
EN_INSTRUCTION = "Repeat the following text exactly, changing nothing:\n\n{text}"


@dataclass(frozen=True)
class CopyOptions:
    min_chars: int = 20
    max_chars: int = 2000
    language: str = "auto"  # auto | ru | en
    ru_instruction: str = RU_INSTRUCTION
    en_instruction: str = EN_INSTRUCTION
    column: str = "text"
    license: str = "unknown"
    commercial: bool = False
    lang: str | None = None

    def __post_init__(self) -> None:
        check_choice("language", self.language, ("auto", "ru", "en"))
        check_bool("commercial", self.commercial)
        for name in ("min_chars", "max_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"option {name!r} must be a positive integer, got {value!r}")
        if self.min_chars > self.max_chars:
            raise ValueError(f"option 'min_chars' ({self.min_chars}) is above 'max_chars' ({self.max_chars})")
        for name in ("ru_instruction", "en_instruction"):
            if "{text}" not in getattr(self, name):
                raise ValueError(f"option {name!r} must contain {{text}} where the text goes")


def _cyrillic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("\u0400" <= c <= "\u04ff" for c in letters) / len(letters) if letters else 0.0


class CopyBuilder(DatasetBuilder):
    name = "copy"
    license = "unknown"
    commercial = False
    lang = None
    description = "copy task for calibration: repeat a text exactly (from a text file or dataset; --source)"
    options_class = CopyOptions

    def read_local(self, path: Path, on_reject: OnReject) -> Iterator[Row]:
        if path.is_file() and path.suffix == ".txt":
            with path.open(encoding="utf-8") as fh:
                for index, line in enumerate(fh):
                    yield Row(f"{path}:{index + 1}", index, line.rstrip("\n"), file=str(path), line=index + 1)
            return
        yield from super().read_local(path, on_reject)

    def convert(self, row: Row, options: CopyOptions) -> Iterator[Conversation]:
        record = row.record
        text = record.get(options.column) if isinstance(record, dict) else record
        if not isinstance(text, str):
            raise RecordError(f"no text (expected a line, or a string field {options.column!r})")
        text = text.strip()
        if not text:
            raise RecordError("blank line: no text to copy")
        if not options.min_chars <= len(text) <= options.max_chars:
            raise RecordError(f"text length {len(text)} outside {options.min_chars}..{options.max_chars} characters")
        language = options.language
        if language == "auto":
            language = "ru" if _cyrillic_share(text) >= 0.5 else "en"
        template = options.ru_instruction if language == "ru" else options.en_instruction
        yield Conversation(
            id=index_id(self.name, row),
            messages=(Message("user", template.replace("{text}", text)), Message("assistant", text)),
            source=self.name,
            lang=options.lang or language,
            license=options.license,
            meta={"task": "copy"},
        )
