"""Corpus specs: wordfreq lists with capitalised forms, streamed text files, combinations and weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

from ru_llm.core.errors import RuLLMError
from ru_llm.tokenize.corpus import CorpusSpec, weighted_texts, wordfreq_texts

RU_DEV = REPO / "tests" / "data" / "text" / "ru_ud_gsd_dev.txt"


def test_spec_parses_weight_only_when_it_is_a_number(tmp_path: Path) -> None:
    assert CorpusSpec.parse("wordfreq:ru") == CorpusSpec("wordfreq:ru", 1.0)
    assert CorpusSpec.parse("a.txt@2.5") == CorpusSpec("a.txt", 2.5)
    assert CorpusSpec.parse("me@host.txt") == CorpusSpec("me@host.txt", 1.0)
    odd = tmp_path / "x@3"
    odd.write_text("привет\n", encoding="utf-8")
    assert CorpusSpec.parse(str(odd)).source == str(odd)
    with pytest.raises(RuLLMError, match="positive"):
        CorpusSpec.parse("a.txt@0")


def test_wordfreq_yields_spaced_and_capitalised_forms() -> None:
    forms = {}
    for text, weight in wordfreq_texts("wordfreq:ru"):
        forms[text] = weight
        if len(forms) > 5000:
            break
    assert forms[" и"] > forms[" И"] > forms["И"] > forms["и"] > 0
    assert forms[" и"] == pytest.approx(forms[" И"] * 0.70 / 0.15)
    assert " москва" in forms and " Москва" in forms


@pytest.mark.slow
def test_wordfreq_weights_are_flattened_and_add_up_to_the_corpus_size() -> None:
    import wordfreq

    from ru_llm.tokenize.corpus import WORDFREQ_EXPONENT, WORDFREQ_WORDS

    texts = list(wordfreq_texts("wordfreq:ru", 2.0))  # one pass over the 2.85M forms serves both checks
    total = sum(weight for _, weight in texts)
    assert total == pytest.approx(2 * WORDFREQ_WORDS, rel=1e-6)
    forms = dict(texts)  # the weight scales every form alike: their ratios are the flattened frequencies'
    frequencies = wordfreq.get_frequency_dict("ru", "best")
    ratio = frequencies["и"] / frequencies["москва"]
    assert forms[" и"] / forms[" москва"] == pytest.approx(ratio**WORDFREQ_EXPONENT, rel=1e-6)


def test_wordfreq_unknown_language_is_one_line_error() -> None:
    with pytest.raises(RuLLMError, match="no word list for language 'xx'"):
        list(weighted_texts(["wordfreq:xx"]))


def test_text_files_and_directories_combine_with_weights(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("Первый файл.\n", encoding="utf-8")
    (tmp_path / "d" / "b.txt").write_text("Второй файл.\n", encoding="utf-8")
    texts = list(weighted_texts([str(tmp_path / "d"), f"{RU_DEV}@3"]))
    assert texts[:2] == [("Первый файл.\n", 1.0), ("Второй файл.\n", 1.0)]
    assert {w for _, w in texts[2:]} == {3.0}
    assert "".join(t for t, _ in texts[2:]) == RU_DEV.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x00\x01\x02binary", "looks binary"), ("привет".encode("cp1251"), "not UTF-8"), (b"  \n", "is empty")],
)
def test_bad_files_fail_before_any_text_naming_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    texts = weighted_texts(["wordfreq:ru", str(bad)])
    with pytest.raises(RuLLMError, match=message) as error:
        next(texts)
    assert str(bad) in str(error.value) and "\n" not in str(error.value)


def test_missing_paths_and_empty_lists_are_errors(tmp_path: Path) -> None:
    with pytest.raises(RuLLMError, match="no such file"):
        list(weighted_texts([str(tmp_path / "nope.txt")]))
    with pytest.raises(RuLLMError, match="no \\*.txt files"):
        list(weighted_texts([str(tmp_path)]))
    with pytest.raises(RuLLMError, match="no corpus"):
        list(weighted_texts([]))


@pytest.mark.slow
def test_hf_corpus_streams_a_text_column_from_a_local_dataset_dir(tmp_path: Path) -> None:
    data = tmp_path / "ds"
    data.mkdir()
    rows = [{"text": f"Строка номер {i}.", "id": i} for i in range(5)] + [{"text": "", "id": 5}]
    (data / "train.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    texts = list(weighted_texts([f"hf:{data}?split=train&limit=3@2"]))
    assert texts == [(f"Строка номер {i}.", 2.0) for i in range(3)]
    assert len(list(weighted_texts([f"hf:{data}"]))) == 5  # empty texts are skipped
    with pytest.raises(RuLLMError, match="row 0 has no column 'body'"):
        list(weighted_texts([f"hf:{data}?column=body"]))


def test_hf_corpus_mistakes_are_one_line_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    with pytest.raises(RuLLMError, match="unknown option 'colum'"):
        list(weighted_texts(["hf:wikimedia/wikipedia?colum=text"]))
    with pytest.raises(RuLLMError, match="limit=-1 is not a positive number"):
        list(weighted_texts(["hf:wikimedia/wikipedia?limit=-1"]))

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'wikimedia/wikipedia' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(RuLLMError, match="the dataset could not be read .Couldn't reach"):
        list(weighted_texts(["hf:wikimedia/wikipedia?config=20231101.ru"]))
