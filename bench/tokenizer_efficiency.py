"""Benchmark: Russian vocabulary extension of real tokenizers (Qwen2.5, LLaMA-3, Mistral-Nemo, LLaMA-2, Mistral-7B).

For each base, learns ``--add`` new tokens (``--spm-add`` for the SentencePiece bases LLaMA-2 and Mistral-7B)
from offline data (``wordfreq:ru`` by default, plus any ``--corpus``) with ``extend_tokenizer``, and
compares base and extended tokenizers on the same texts:

* Russian characters per token on the UD dev texts (not trained on), per text and overall, two ways:
  ``ru_chars_per_token_*`` divides all characters by all tokens; ``ru_cyrillic_chars_per_token_*`` divides
  Cyrillic letters by the tokens covering them (the Russian part alone: digits, Latin and punctuation,
  which extension leaves unchanged, do not dilute it). ``ud_gsd.txt`` (Wikipedia) is the
  encyclopedia text the target is about; taiga (social media, fiction) and poetry are reported too;
* English characters per token (self-instruct seed tasks and OASST1 messages, code included): the change
  must be under 0.5% (extension keeps English tokenization exactly, so it should be 0);
* the wall time of the extension.

Targets (issue #5): Qwen2.5 >= 4.3 Russian chars/token on encyclopedia text (checked both ways on
ud_gsd.txt) with at most 48,000 new tokens, English change
< 0.5%, extension under 600 s on a 2-core machine. Prints JSON.

    uv run python bench/tokenizer_efficiency.py [--add 48000] [--corpus wordfreq:ru] [--corpus PATH@W]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
RU_DEV = SHARED / "ru_text" / "dev"
TOKENIZERS = SHARED / "tokenizers"
BASES = ("qwen2.5", "llama3", "mistral-nemo", "llama2", "mistral-7b-v0.1")
# SentencePiece bases get fewer new pieces by default: their 32,000-piece vocabularies are a fifth of the others.
SPM_BASES_ADD = 16_000
TARGET_RU_CHARS_PER_TOKEN = 4.3
GSD = "ud_gsd.txt"  # UD Russian-GSD dev: Wikipedia sentences
TARGET_SECONDS = 600
MAX_ENGLISH_CHANGE = 0.005


def english_text() -> str:
    data = REPO / "tests" / "data"
    parts = []
    for line in (data / "instructions" / "en" / "self_instruct_seed_tasks.jsonl").open(encoding="utf-8"):
        task = json.loads(line)
        parts.append(task["instruction"] + "\n" + "\n".join(i["input"] + i["output"] for i in task["instances"]))
    for line in (data / "translate" / "oasst_en_messages.jsonl").open(encoding="utf-8"):
        parts.append(json.loads(line)["text"])
    return "\n\n".join(parts)


def chars_per_token(tokenizer, texts: dict[str, str], key: str = "chars_per_token") -> dict[str, float]:
    from ru_llm.tokenize.stats import tokenizer_stats

    result = {name: tokenizer_stats(tokenizer, text)[key] for name, text in texts.items()}
    result["all"] = tokenizer_stats(tokenizer, list(texts.values()))[key]
    return {k: round(v, 4) for k, v in result.items()}


def bench_base(name: str, corpus: list[str], add: int, ru_texts: dict[str, str], english: str, tmp: Path) -> dict:
    from transformers import AutoTokenizer

    from ru_llm.tokenize.corpus import weighted_texts
    from ru_llm.tokenize.extend import extend_tokenizer

    base_dir = TOKENIZERS / name
    out = tmp / name
    start = time.perf_counter()
    report = extend_tokenizer(base_dir, weighted_texts(corpus), add, out)
    seconds = time.perf_counter() - start
    base, new = AutoTokenizer.from_pretrained(base_dir), AutoTokenizer.from_pretrained(out)
    ru_base, ru_new = chars_per_token(base, ru_texts), chars_per_token(new, ru_texts)
    cyr_base = chars_per_token(base, ru_texts, "cyrillic_chars_per_token")
    cyr_new = chars_per_token(new, ru_texts, "cyrillic_chars_per_token")
    en_base, en_new = chars_per_token(base, {"en": english})["en"], chars_per_token(new, {"en": english})["en"]
    english_ids_equal = base.encode(english, add_special_tokens=False) == new.encode(english, add_special_tokens=False)
    return {
        "new_tokens": report.new_tokens,
        "new_merges": report.new_merges,
        "first_new_id": report.first_new_id,
        "distinct_cyrillic_pre_tokens": report.pre_tokens,
        "extend_seconds": round(seconds, 1),
        "ru_chars_per_token_base": ru_base,
        "ru_chars_per_token_extended": ru_new,
        "ru_ratio_extended_vs_base": round(ru_new["all"] / ru_base["all"], 4),
        "ru_cyrillic_chars_per_token_base": cyr_base,
        "ru_cyrillic_chars_per_token_extended": cyr_new,
        "en_chars_per_token_base": en_base,
        "en_chars_per_token_extended": en_new,
        "en_change": round(en_new / en_base - 1, 6),
        "en_token_ids_identical": english_ids_equal,
        "examples": report.examples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add", type=int, default=48_000, help="new tokens per byte-level BPE base")
    parser.add_argument("--spm-add", type=int, default=SPM_BASES_ADD, help="new pieces per SentencePiece base")
    parser.add_argument("--corpus", action="append", help="corpus specs (default: wordfreq:ru)")
    parser.add_argument("--base", action="append", choices=BASES, help="bases to run (default: all present)")
    args = parser.parse_args()
    if not RU_DEV.is_dir() or not TOKENIZERS.is_dir():
        sys.exit(f"tokenizer_efficiency: needs {RU_DEV} and {TOKENIZERS} (the project's shared data); not found")
    corpus = args.corpus or ["wordfreq:ru"]
    ru_texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(RU_DEV.glob("*.txt"))}
    english = english_text()
    results, skipped = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.base or BASES:
            if not any((TOKENIZERS / name / f).is_file() for f in ("tokenizer.json", "tokenizer.model")):
                skipped.append(f"{name}: no tokenizer in {TOKENIZERS / name}")
                continue
            add = args.add if (TOKENIZERS / name / "tokenizer.json").is_file() else args.spm_add
            results[name] = bench_base(name, corpus, add, ru_texts, english, Path(tmp))
            print(f"{name}: done in {results[name]['extend_seconds']} s", file=sys.stderr)
    qwen = results.get("qwen2.5")
    report = {
        "benchmark": "tokenizer_efficiency",
        "corpus": corpus,
        "add": args.add,
        "spm_add": args.spm_add,
        "ru_dev_texts": list(ru_texts),
        "en_characters": len(english),
        "results": results,
        "skipped": skipped,
        "targets": {
            "qwen2.5_ru_chars_per_token": TARGET_RU_CHARS_PER_TOKEN,
            "en_change_below": MAX_ENGLISH_CHANGE,
            "extend_seconds_below": TARGET_SECONDS,
        },
    }
    if qwen:
        report["meets_targets"] = {
            "qwen2.5_gsd_chars_per_token": qwen["ru_chars_per_token_extended"][GSD] >= TARGET_RU_CHARS_PER_TOKEN,
            "qwen2.5_gsd_cyrillic_chars_per_token": qwen["ru_cyrillic_chars_per_token_extended"][GSD]
            >= TARGET_RU_CHARS_PER_TOKEN,
            "en_change": all(abs(r["en_change"]) < MAX_ENGLISH_CHANGE for r in results.values()),
            "extend_seconds": qwen["extend_seconds"] < TARGET_SECONDS,
        }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
