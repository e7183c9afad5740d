"""A tiny dataset builder for build tests, registered as a test plugin (independent of the built-ins)."""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from pathlib import Path

from ru_llm.core import RecordError, conversation, hookimpl
from ru_llm.dataset.builders import DatasetBuilder


@dataclass(frozen=True)
class QAOptions:
    license: str | None = None
    commercial: bool | None = None
    lang: str | None = None


class QABuilder(DatasetBuilder):
    """Rows ``{"id", "q", "a", "lang"?, "flags"?}`` -> one user/assistant conversation."""

    name = "qa"
    license = "CC0-1.0"
    commercial = True
    lang = "ru"
    options_class = QAOptions

    def convert(self, row, options):
        record = row.record
        if not isinstance(record, dict) or "q" not in record or "a" not in record:
            raise RecordError("expected q and a", record_id=None)
        meta = {"translation": {"flags": record["flags"]}} if "flags" in record else {}
        yield conversation(
            str(record.get("id", row.index)),
            [("user", record["q"]), ("assistant", record["a"])],
            source=self.name,
            lang=record.get("lang", options.lang or self.lang),
            license=options.license or self.license,
            meta=meta,
        )


class NonCommercialQA(QABuilder):
    name = "qa_nc"
    license = "CC-BY-NC-4.0"
    commercial = False


def register_qa(pm) -> None:
    module = types.ModuleType("qa_plugin")
    module.register_dataset_builders = hookimpl(lambda register: [register(QABuilder()), register(NonCommercialQA())])
    pm.register(module, name="qa_plugin")


def write_rows(path: Path, rows: list[dict | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def qa_rows(n: int, prefix: str = "q", lang: str = "ru") -> list[dict]:
    return [{"id": f"{prefix}{i}", "q": f"Вопрос номер {i} про {prefix}?", "a": f"Ответ {i}: всё хорошо.", "lang": lang}
            for i in range(n)]  # fmt: skip
