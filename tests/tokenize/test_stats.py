"""Tokenizer efficiency statistics: exact counts, streaming, bad files, and real tokenizers on real text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.loading import load_tokenizer
from ru_llm.tokenize.stats import count_words, efficiency, read_text_chunks, text_file_stats, tokenizer_stats

RU_DEV = REPO / "tests" / "data" / "text" / "ru_ud_gsd_dev.txt"
EN_TASKS = REPO / "tests" / "data" / "instructions" / "en" / "self_instruct_seed_tasks.jsonl"
TOKENIZERS = REPO / "tests" / "data" / "tokenizers"


def word_level(with_bos: bool = False):
    """A tokenizer whose tokens can be counted by hand: whitespace/punctuation split, a 4-word vocabulary."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "[BOS]": 1, "мир": 2, "привет": 3}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if with_bos:
        tok.post_processor = processors.TemplateProcessing(single="[BOS] $A", special_tokens=[("[BOS]", 1)])
    return tok


def english_text(path: Path) -> Path:
    with open(EN_TASKS, encoding="utf-8") as src, open(path, "w", encoding="utf-8") as out:
        for line in src:
            out.write(json.loads(line)["instruction"] + "\n")
    return path


def test_counts_a_tiny_string_exactly() -> None:
    # By hand: привет | , | мир | ! | x_1 | 42  -> 6 tokens; \w+ runs: привет, мир, x_1, 42 -> 4 words.
    text = "привет, мир! x_1 42"
    stats = tokenizer_stats(word_level(), text)
    assert stats == {
        "tokens": 6, "characters": 19, "words": 4, "chars_per_token": 19 / 6, "tokens_per_word": 1.5,
        "cyrillic_characters": 9, "cyrillic_tokens": 2, "cyrillic_chars_per_token": 4.5,
    }  # fmt: skip


def test_special_tokens_are_not_counted() -> None:
    from transformers import PreTrainedTokenizerFast

    tok = word_level(with_bos=True)
    assert len(tok.encode("привет мир").ids) == 3  # the post-processor adds [BOS] by default
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="[BOS]", unk_token="[UNK]")
    assert tokenizer_stats(tok, "привет мир")["tokens"] == 2
    assert tokenizer_stats(hf, "привет мир")["tokens"] == 2


def test_documents_are_summed_and_batching_does_not_change_the_result(real_tokenizer) -> None:
    qwen = real_tokenizer("qwen2.5")
    docs = ["Мама мыла раму.", "", "Hello, world!", "Ёжик в тумане — 1975 год."]
    expected = sum(len(qwen.encode(d, add_special_tokens=False)) for d in docs)
    one = tokenizer_stats(qwen, docs)
    assert one["tokens"] == expected
    assert one["characters"] == sum(map(len, docs)) and one["words"] == 3 + 2 + 5
    assert tokenizer_stats(qwen, iter(docs), batch_chars=1) == one


def test_nothing_to_count_gives_no_ratios() -> None:
    assert tokenizer_stats(word_level(), []) == {
        "tokens": 0, "characters": 0, "words": 0, "chars_per_token": None, "tokens_per_word": None,
        "cyrillic_characters": 0, "cyrillic_tokens": 0, "cyrillic_chars_per_token": None,
    }  # fmt: skip
    assert tokenizer_stats(word_level(), "!!")["tokens_per_word"] is None


def test_words_are_unicode_word_runs() -> None:
    assert count_words("Ёлка-палка, it's 3.14 — ok_go") == 7


def test_chunks_end_at_line_ends_and_rebuild_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    lines = [f"строка {i}: {'слово ' * (i % 7)}\r\n" for i in range(300)]
    path.write_bytes(("\ufeff" + "".join(lines)).encode("utf-8"))
    seen: list[int] = []
    chunks = list(read_text_chunks(path, chunk_bytes=97, on_bytes=seen.append))
    assert len(chunks) > 10
    assert all(c.endswith("\r\n") for c in chunks)
    assert "".join(chunks) == "".join(lines)  # the byte-order mark is dropped, CRLF kept
    assert sum(seen) == path.stat().st_size


def test_a_long_line_is_cut_at_a_space_and_a_huge_word_is_not_held_forever(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("слово " * 100 + "я" * 1000, encoding="utf-8")
    chunks = list(read_text_chunks(path, chunk_bytes=64))
    assert "".join(chunks) == path.read_text(encoding="utf-8")
    assert all(c.endswith(" ") for c in chunks if "я" not in c)
    assert sum("я" in c for c in chunks) > 1  # no space to cut at: cut anyway, memory stays bounded
    assert max(map(len, chunks)) <= 4 * 64 + 64


def test_streaming_a_file_matches_counting_it_whole(real_tokenizer) -> None:
    qwen = real_tokenizer("qwen2.5")
    text = RU_DEV.read_text(encoding="utf-8")
    whole = tokenizer_stats(qwen, text)
    chunks = list(read_text_chunks(RU_DEV, chunk_bytes=4096))
    assert len(chunks) > 20
    assert tokenizer_stats(qwen, chunks) == whole  # byte-level BPE: cutting after "\n" changes nothing
    assert text_file_stats(qwen, RU_DEV) == whole


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty (no text besides whitespace)"),
        (b" \n\t\n", "is empty (no text besides whitespace)"),
        (b"text\x00\x01\x02 more", "looks binary (a NUL byte at byte 4)"),
        ("привет мир".encode("cp1251"), "not UTF-8 (an invalid byte at byte 0)"),
        ("ок ".encode() * 50 + b"\xff", "not UTF-8 (an invalid byte at byte 250)"),
    ],
)
def test_bad_text_files_are_one_line_errors_naming_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(RuLLMError) as info:
        list(read_text_chunks(path, chunk_bytes=16))
    assert str(info.value) == f"text {path}: {message}"
    assert info.value.hint and "\n" not in str(info.value)


def test_a_missing_file_or_a_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuLLMError, match="no such file"):
        list(read_text_chunks(tmp_path / "nope.txt"))
    with pytest.raises(RuLLMError, match="is a directory"):
        list(read_text_chunks(tmp_path))


@pytest.mark.slow
def test_load_tokenizer_reads_a_local_directory() -> None:
    tok = load_tokenizer(TOKENIZERS / "qwen2.5")
    ids = tok.encode("Привет, мир", add_special_tokens=False)
    assert tok.decode(ids) == "Привет, мир" and len(ids) == 5


def _empty_dir(d: Path) -> Path:
    return d


def _a_file(d: Path) -> Path:
    (d / "tokenizer.json").write_text("{}")
    return d / "tokenizer.json"


def _missing(d: Path) -> Path:
    return d / "no" / "such"


def _broken(d: Path) -> Path:
    (d / "tokenizer_config.json").write_text("{not json")
    return d


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_empty_dir, "the directory has no tokenizer files"),
        (_a_file, "is a file, not a directory"),
        (_missing, "no such directory"),
        (_broken, "cannot be loaded"),
    ],
)
def test_load_tokenizer_errors_name_the_directory(tmp_path: Path, make, message: str) -> None:
    source = make(tmp_path)
    with pytest.raises(RuLLMError) as info:
        load_tokenizer(source)
    assert str(info.value).startswith(f"tokenizer {source}: {message}")
    assert "local directory" in (info.value.hint or "")
    assert "\n" not in str(info.value)


def test_an_unreachable_hub_id_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import AutoTokenizer

    calls = []

    def offline(name, **kwargs):
        calls.append((name, kwargs))
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files.\nCheck your connection.")

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", offline)
    with pytest.raises(RuLLMError) as info:
        load_tokenizer("someone/some-model")
    assert str(info.value) == (
        "tokenizer 'someone/some-model': not a local directory, and the hub could not provide it: "
        "We couldn't connect to 'https://huggingface.co' to load the files."
    )
    assert calls == [("someone/some-model", {"trust_remote_code": False})]


def test_stats_modules_import_nothing_heavy() -> None:
    code = (
        "import ru_llm.tokenize, ru_llm.tokenize.stats, ru_llm.tokenize.commands.stats_cmd, ru_llm.tokenize.loading\n"
        "import sys\n"
        "print(','.join(m for m in ('torch', 'transformers', 'tokenizers', 'sentencepiece') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize(
    ("name", "ru_low", "ru_high"),
    [("qwen2.5", 2.6, 2.8), ("llama3", 2.9, 3.1), ("llama2", 2.55, 2.75), ("mistral-7b-v0.1", 2.35, 2.5)],
)
def test_real_tokenizers_on_russian_and_english(real_tokenizer, tmp_path: Path, name, ru_low, ru_high) -> None:
    # Measured: qwen2.5 2.68, llama3 3.01, llama2 2.65, mistral 2.43 Russian characters per token on the
    # UD GSD dev sentences; every one gives over 4 on the English self-instruct seed instructions.
    tok = real_tokenizer(name)
    ru = text_file_stats(tok, RU_DEV)
    en = text_file_stats(tok, english_text(tmp_path / "en.txt"))
    assert ru_low < ru["chars_per_token"] < ru_high
    assert 4.0 < en["chars_per_token"] < 5.0
    assert ru["tokens_per_word"] > 2 * en["tokens_per_word"] - 0.2


def test_a_python_tokenizer_is_called_without_special_tokens() -> None:
    class CharTokenizer:  # stands in for a slow (pure Python) transformers tokenizer
        def __call__(self, batch, **kwargs):
            assert kwargs["add_special_tokens"] is False
            return {"input_ids": [list(text) for text in batch]}

        def batch_decode(self, ids):  # pragma: no cover - marks the transformers interface
            return ids

    slow = tokenizer_stats(CharTokenizer(), ["ab c", "d"])
    assert slow == efficiency(tokens=5, characters=5, words=3, cyrillic_tokens=None)
    assert slow["cyrillic_chars_per_token"] is None  # no offsets: unknown rather than guessed


def test_the_cyrillic_ratio_counts_tokens_that_cover_a_cyrillic_letter(real_tokenizer) -> None:
    qwen = real_tokenizer("qwen2.5")
    text = "Москва 2024, iPhone и Ёжик."
    stats = tokenizer_stats(qwen, text)
    encoding = qwen.backend_tokenizer.encode(text, add_special_tokens=False)
    pieces = [text[start:end] for start, end in encoding.offsets]
    by_hand = sum(1 for piece in pieces if any("\u0400" <= c <= "\u04ff" for c in piece))
    assert stats["cyrillic_characters"] == len("МоскваиЁжик")
    assert stats["cyrillic_tokens"] == by_hand and 0 < by_hand < stats["tokens"]
    assert stats["cyrillic_chars_per_token"] == len("МоскваиЁжик") / by_hand
