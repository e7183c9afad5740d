"""The dataset card (README.md) of a built dataset: counts, languages, licences, commercial status."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ru_llm.dataset.build import BuildReport, SourceReport


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def dataset_card(report: BuildReport) -> str:
    """Markdown with a Hugging Face style YAML header."""
    import yaml

    licences = sorted({s.license for s in report.sources})
    languages = sorted({lang for s in report.sources for lang in s.languages if lang != "unknown"})
    header = yaml.safe_dump({"license": licences, "language": languages}, allow_unicode=True, sort_keys=False)
    blocked = [s.label for s in report.sources if not s.cleared]
    status = (
        "All sources are cleared for commercial use."
        if not blocked
        else f"**Not cleared for commercial use** because of: {', '.join(blocked)}."
    )
    sources = _table(
        ["source", "builder", "origin", "licence", "commercial", "loaded", "kept", "train", "validation"],
        [
            [s.label, s.builder, s.source or s.hub_id or "-", s.license, _status(s),
             s.loaded, s.kept, s.train, s.validation]
            for s in report.sources
        ],
    )  # fmt: skip
    langs = sorted({lang for s in report.sources for lang in s.languages})
    by_lang = _table(["source", *langs], [[s.label, *(s.languages[lang] for lang in langs)] for s in report.sources])
    reasons = report.reasons()
    rejects = _table(["reason", "count"], [[r, n] for r, n in reasons.most_common()]) if reasons else "None."
    recipe = yaml.safe_dump(_recipe_dict(report), allow_unicode=True, sort_keys=False)
    preference = report.kind == "preference"
    records = "preference pairs" if preference else "conversations"
    record = "pair" if preference else "conversation"
    layout = (
        "\n\nEach line is a preference pair: `messages` (the prompt, ending on a user turn), `chosen` and `rejected`\n"
        "(the preferred and the dispreferred assistant reply), with `id`, `source`, `lang`, `license` and `meta`.\n"
        "Pairs that share a prompt are always in the same split."
        if preference
        else ""
    )
    return f"""---
{header}---

# Dataset built by ru-llm

{report.train} training and {report.validation} validation {records} from {len(report.sources)} sources.
Records in: {report.records_in} = kept {report.kept} + rejected {report.rejected} (every rejected record is in
`rejects.jsonl` with its reason); weights may write a kept {record} more than once.{layout}

## Licences

{status} Licences: {", ".join(licences)}. Each {record} keeps its source's licence in its `license` field
and its licence stamp in `commercial` (`true` only where the source is cleared for commercial use); training
with `--commercial` trusts that stamp and nothing else.

## Sources

{sources}

## Kept {records} by language

{by_lang}

## Rejected

{rejects}

## Recipe

```yaml
{recipe}```
"""


def _status(source: SourceReport) -> str:
    if source.cleared:
        return "yes"
    if source.commercial:  # declared cleared, but some records came stamped false
        return f"no ({source.uncleared} of {source.kept} records stamped false)"
    return "no"


def _recipe_dict(report: BuildReport) -> dict[str, object]:
    import dataclasses
    import json

    data = json.loads(json.dumps(dataclasses.asdict(report.recipe)))  # tuples -> lists for YAML
    data["sources"] = [{k: v for k, v in s.items() if v not in (None, {}, 1.0)} for s in data["sources"]]
    return data
