"""`ru-llm translate ...` end to end with the fake backend, including kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from kit.distributions import write_distribution
from kit.fake_mt import register_fake
from typer.testing import CliRunner

from ru_llm.cli.app import build_app
from ru_llm.core import conversation, read_conversations, read_jsonl, write_jsonl
from ru_llm.translate.commands.hub import hub_reachable  # the real probe (conftest.py stubs it for the CLI)


@pytest.fixture
def fake(plugin_manager):
    return register_fake(plugin_manager)


def run(*args: str, **env: str):
    return CliRunner().invoke(build_app(), [str(a) for a in args], env={"COLUMNS": "200", **env})


def sample(path: Path, n: int = 6) -> Path:
    convs = [conversation(f"s{i}", [("user", f"Question number {i}: what is {i} plus {i}?"),
                                    ("assistant", f"The answer is {2 * i}.\n\n- first point\n- second point")],
                          source="mine", lang="en", license="Apache-2.0") for i in range(n)]  # fmt: skip
    write_jsonl(path, convs)
    return path


def test_translate_file_writes_russian_conversations_and_a_summary(tmp_path: Path, fake) -> None:
    src = sample(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    result = run("translate", "file", src, "--backend", "fake", "--out", out, "--cache", tmp_path / "c.sqlite")
    assert result.exit_code == 0, result.output
    convs = list(read_conversations(out))
    assert [c.id for c in convs] == [f"s{i}-ru" for i in range(6)]
    assert convs[0].messages[1].content.endswith("\n\n- фирст поинт\n- сецонд поинт")
    assert "records in 6 = out 6 + rejected 0" in result.stderr
    assert list(read_jsonl(tmp_path / "out.rejects.jsonl")) == []
    again = run("translate", "file", src, "--backend", "fake", "--out", out, "--cache", tmp_path / "c.sqlite")
    assert "translated now" in again.stderr and fake.loaded[-1].calls == []


def test_keep_original_limit_and_rejects(tmp_path: Path, fake) -> None:
    src = sample(tmp_path / "in.jsonl", 3)
    with open(src, "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "bad", "messages": [{"role": "user", "content": "BROKEN for sure"},
                                                      {"role": "assistant", "content": "yes"}]}) + "\n")  # fmt: skip
        f.write("{not json\n")
    out = tmp_path / "out.jsonl"
    result = run("translate", "file", src, "--backend", "fake", "--out", out, "--keep-original",
                 "--cache", tmp_path / "c.sqlite")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [c.id for c in read_conversations(out)] == ["s0", "s0-ru", "s1", "s1-ru", "s2", "s2-ru"]
    rejects = list(read_jsonl(tmp_path / "out.rejects.jsonl"))
    assert {r["id"] for r in rejects} == {"bad", None}
    limited = run("translate", "file", src, "--backend", "fake", "--out", out, "--limit", "2",
                  "--cache", tmp_path / "c.sqlite")  # fmt: skip
    assert limited.exit_code == 0 and len(list(read_conversations(out))) == 2


def test_shards_then_merge_then_assemble(tmp_path: Path, fake) -> None:
    src = sample(tmp_path / "in.jsonl", 8)
    out = tmp_path / "out.jsonl"
    for i in (1, 2):
        shard = run("translate", "file", src, "--backend", "fake", "--out", out, "--shard", f"{i}/2",
                    "--cache", tmp_path / f"shard{i}.sqlite")  # fmt: skip
        assert shard.exit_code == 0, shard.output
        assert f"shard {i}/2 done" in shard.stderr
    assert not out.exists()
    merged = run("translate", "merge", tmp_path / "all.sqlite", tmp_path / "shard1.sqlite", tmp_path / "shard2.sqlite")
    assert merged.exit_code == 0 and "merged 2 caches" in merged.stdout
    final = run("translate", "file", src, "--backend", "fake", "--out", out, "--cache", tmp_path / "all.sqlite")
    assert final.exit_code == 0 and len(list(read_conversations(out))) == 8
    assert fake.loaded[-1].calls == []


@pytest.mark.parametrize("value", ["3/2", "0/2", "a/b", "2"])
def test_bad_shard_is_a_one_line_error(tmp_path: Path, fake, value: str) -> None:
    result = run("translate", "file", sample(tmp_path / "in.jsonl"), "--backend", "fake", "--shard", value,
                 "--out", tmp_path / "o.jsonl")  # fmt: skip
    assert result.exit_code == 1 and "expected i/N" in result.stderr


def test_shard_defaults_to_torchrun_rank(tmp_path: Path, fake, monkeypatch: pytest.MonkeyPatch) -> None:
    from ru_llm.translate.commands.source_cmd import parse_shard

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert parse_shard(None) == (1, 4)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert parse_shard(None) is None


def test_offline_hub_says_how_to_use_local_files(tmp_path: Path, fake, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach the Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    result = run("translate", "dolly", "--backend", "fake", "--out", tmp_path / "o.jsonl")
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line and "--source" in line and "--model" in line


def test_unreachable_hub_fails_at_once_in_one_line(tmp_path: Path, fake, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets
    import huggingface_hub.constants

    import ru_llm.translate.commands.hub as hub

    probes: list[str] = []
    monkeypatch.setattr(hub, "hub_reachable", lambda endpoint, timeout=None: probes.append(endpoint) or False)
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    seen = []

    def load_dataset(*args, **kwargs):  # what datasets does in offline mode with nothing cached
        seen.append((os.environ.get("HF_HUB_OFFLINE"), datasets.config.HF_HUB_OFFLINE,
                     huggingface_hub.constants.HF_HUB_OFFLINE))  # fmt: skip
        raise ConnectionError("Couldn't reach 'databricks/databricks-dolly-15k' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    start = time.monotonic()
    result = run("translate", "dolly", "--backend", "fake", "--out", tmp_path / "o.jsonl")
    assert time.monotonic() - start < 5
    assert result.exit_code == 1
    assert probes == ["https://huggingface.co"] and seen == [("1", True, True)]
    line = result.stderr.strip()
    assert "\n" not in line and "Retrying" not in line
    assert "https://huggingface.co did not answer" in line and "--source" in line and "--model" in line
    # offline mode was for that command only
    assert "HF_HUB_OFFLINE" not in os.environ
    assert datasets.config.HF_HUB_OFFLINE is False and huggingface_hub.constants.HF_HUB_OFFLINE is False


def test_hf_hub_offline_is_honoured_without_a_probe(tmp_path: Path, fake, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    import ru_llm.translate.commands.hub as hub

    def probe(endpoint, timeout=None):
        raise AssertionError("no probe when HF_HUB_OFFLINE is set")

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr(hub, "hub_reachable", probe)
    monkeypatch.setattr(datasets, "load_dataset", offline)
    result = run("translate", "dolly", "--backend", "fake", "--out", tmp_path / "o.jsonl", HF_HUB_OFFLINE="1")
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line and "--source" in line and "did not answer" not in line


def test_local_data_and_model_need_no_probe(tmp_path: Path, fake, monkeypatch: pytest.MonkeyPatch) -> None:
    import ru_llm.translate.commands.hub as hub

    def probe(endpoint, timeout=None):
        raise AssertionError("nothing comes from the hub")

    monkeypatch.setattr(hub, "hub_reachable", probe)
    src = sample(tmp_path / "in.jsonl", 2)
    result = run("translate", "file", src, "--backend", "fake", "--model", tmp_path, "--out", tmp_path / "o.jsonl",
                 "--cache", tmp_path / "c.sqlite")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_hub_reachable_answers_quickly_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)

    class NotFound(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        assert hub_reachable(f"http://127.0.0.1:{server.server_port}", timeout=5)  # any answer counts
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    start = time.monotonic()
    assert not hub_reachable(f"http://127.0.0.1:{closed}", timeout=2)
    assert not hub_reachable("not a url", timeout=2)
    assert time.monotonic() - start < 3


def test_file_needs_its_input(tmp_path: Path, fake) -> None:
    result = run("translate", "file", "--backend", "fake")
    assert result.exit_code == 1 and "needs the input file" in result.stderr


def test_backends_lists_the_fake_and_its_licence(fake) -> None:
    result = run("translate", "backends", "--json")
    assert result.exit_code == 0
    assert {"name": "fake", "default_model": "fake-model", "model_license": "CC0-1.0", "commercial": True,
            "description": "transliterating test backend"} in json.loads(result.stdout)  # fmt: skip


# -- kill -9 at any moment, rerun, byte-identical output -------------------------------------------
def _cli(args: list[str], site: Path, **env: str) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RU_LLM_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO / "tests")])
    environ["HF_HUB_OFFLINE"] = "1"  # no hub probe for the fake backend's model
    environ.update(env)
    return subprocess.Popen([sys.executable, "-m", "ru_llm.cli", *args], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


@pytest.mark.slow
def test_kill_and_resume_gives_byte_identical_output(tmp_path: Path) -> None:
    site = write_distribution(tmp_path / "site", "ru-llm-fake-mt", "0.1", {"fake_mt": "kit.fake_mt_plugin"})
    src = sample(tmp_path / "in.jsonl", 40)
    common = ["translate", "file", str(src), "--backend", "fake", "--batch-tokens", "24"]

    reference = tmp_path / "reference.jsonl"
    done = _cli([*common, "--out", str(reference), "--cache", str(tmp_path / "ref.sqlite")], site)
    assert done.wait(120) == 0, done.stderr.read()

    out, cache = tmp_path / "out.jsonl", tmp_path / "resume.sqlite"
    killed = _cli([*common, "--out", str(out), "--cache", str(cache)], site, FAKE_MT_DELAY="0.2")
    deadline = time.time() + 60
    while time.time() < deadline:  # kill once some, but not all, batches are committed
        if cache.exists():
            import sqlite3

            try:
                count = sqlite3.connect(cache).execute("SELECT COUNT(*) FROM segments").fetchone()[0]
            except sqlite3.OperationalError:
                count = 0
            if count >= 5:
                break
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    assert not out.exists(), "the output appears only when a run completes"
    resumed = _cli([*common, "--out", str(out), "--cache", str(cache)], site)
    assert resumed.wait(120) == 0, resumed.stderr.read()
    assert out.read_bytes() == reference.read_bytes()
    assert not list(tmp_path.glob(".out.jsonl.*")), "no temporary output left behind after the resume"


def test_thresholds_are_configurable_and_reported(tmp_path: Path, fake) -> None:
    src = sample(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out.jsonl"
    # The fake keeps lengths (ratio 1.0), so a maximum ratio of 0.5 fails every long enough segment.
    strict = run("translate", "file", src, "--backend", "fake", "--out", out, "--cache", tmp_path / "c.sqlite",
                 "--check", "max_length_ratio=0.5")  # fmt: skip
    assert strict.exit_code == 0, strict.output
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert report["checks"]["max_length_ratio"] == 0.5 and report["backend"] == "fake"
    assert report["records_in"] == 3 and report["records_out"] == 0 and report["rejected"] == {"length_ratio": 3}
    assert report["decoding"]["num_beams"] == 1 and report["retry"]["num_beams"] == 4
    assert [r["reason"] for r in read_jsonl(tmp_path / "out.rejects.jsonl")] == ["translation failed: length_ratio"] * 3
    bad = run("translate", "file", src, "--backend", "fake", "--out", out, "--check", "min_cyrilic_share=0.5")
    assert bad.exit_code == 1
    assert "--check: unknown key 'min_cyrilic_share'; did you mean 'min_cyrillic_share'?" in bad.stderr
    assert "allowed here: ngram_size," in bad.stderr and "CheckConfig" not in bad.stderr
    out_of_range = run("translate", "file", src, "--backend", "fake", "--out", out, "--check", "min_cyrillic_share=2")
    assert out_of_range.exit_code == 1 and "--check: 'min_cyrillic_share' must be within [0, 1]" in out_of_range.stderr


def test_keep_original_pairs_by_position_even_with_repeated_ids(tmp_path: Path, fake) -> None:
    src = tmp_path / "dup.jsonl"
    first = conversation("a", [("user", "First question here?"), ("assistant", "First answer.")])
    second = conversation("a", [("user", "Second question here?"), ("assistant", "Second answer.")])
    write_jsonl(src, [first, second])
    out = tmp_path / "out.jsonl"
    result = run("translate", "file", src, "--backend", "fake", "--out", out, "--keep-original",
                 "--cache", tmp_path / "c.sqlite")  # fmt: skip
    assert result.exit_code == 0, result.output
    convs = list(read_conversations(out))
    assert [c.messages[0].content for c in convs] == [
        "First question here?", "Фирст куестион хере?", "Second question here?", "Сецонд куестион хере?",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "-1"], "--limit must be 0 or more"),
        (["--batch-tokens", "0"], "--batch-tokens must be at least 1"),
        (["--check", "min_cyrillic_share=abc"], "--check: 'min_cyrillic_share' must be a number, got 'abc'"),
        (["--device", "gpu"], "--device: 'gpu' is not a device; expected cpu, cuda, cuda:N, mps, auto"),
        (["--backend-option", "device=cuda:x"], "--backend-option device: 'cuda:x' is not a device"),
    ],
)
def test_bad_numbers_are_one_line_errors(tmp_path: Path, fake, args: list[str], message: str) -> None:
    result = run("translate", "file", sample(tmp_path / "in.jsonl"), "--backend", "fake", "--out",
                 tmp_path / "o.jsonl", *args)  # fmt: skip
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.output


def test_every_registered_dataset_builder_is_a_command_a_plugins_too(tmp_path: Path, fake, plugin_manager) -> None:
    from kit.qa_builder import register_qa, write_rows

    register_qa(plugin_manager)  # a plugin's builder, unknown to ru_llm.translate
    write_rows(tmp_path / "qa.jsonl", [{"id": "q1", "q": "What is two plus two?", "a": "Four, of course."}])
    listed = run("translate", "--help")
    assert listed.exit_code == 0 and "qa_nc" in listed.stdout and "dolly" in listed.stdout
    out = tmp_path / "qa_ru.jsonl"
    result = run("translate", "qa", "--source", tmp_path / "qa.jsonl", "--backend", "fake", "--out", out,
                 "--cache", tmp_path / "c.sqlite")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "records in 1 = out 1 + rejected 0" in result.stderr
    [translated] = read_conversations(out)
    assert translated.source == "qa" and translated.messages[0].content == "Вхат ис тво плус тво?"
    assert "--source" in run("translate", "qa", "--help").stdout
    unknown = run("translate", "qaa", "--backend", "fake")
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output
    assert "unknown dataset builder 'qaa'; did you mean 'qa'?" in unknown.stderr


# --- --explain ID (issue 16) ---------------------------------------------------------------------------


def explain_sample(path: Path) -> Path:
    answer = "Use the command:\n\n    pip install requests\n\nThen run `python app.py` now.\n\n```bash\n$ ls -la\n```"
    write_jsonl(path, [conversation("r1", [("user", "How do I install requests?"), ("assistant", answer)],
                                    source="mine", lang="en", license="Apache-2.0")])  # fmt: skip
    return path


def test_explain_shows_each_segment_with_action_and_reason_and_translates_nothing(tmp_path: Path, fake) -> None:
    src = explain_sample(tmp_path / "in.jsonl")
    result = run("translate", "file", src, "--backend", "fake", "--explain", "r1", "--out", tmp_path / "o.jsonl")
    assert result.exit_code == 0, result.output
    for expected in ("message 1 (assistant)", "indented_code", "fenced_code", "protected", "`python app.py`",
                     "Use the command:", "2 sent, 1 sent with protected spans"):  # fmt: skip
        assert expected in result.stdout, expected
    assert fake.loaded == []  # no MT model was even loaded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_explain_json_lists_every_piece_and_accepts_the_output_id(tmp_path: Path, fake) -> None:
    src = explain_sample(tmp_path / "in.jsonl")
    result = run("translate", "file", src, "--backend", "fake", "--explain", "r1-ru", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["id"] == "r1" and [m["role"] for m in report["messages"]] == ["user", "assistant"]
    segments = report["messages"][1]["segments"]
    assert "".join(s["text"] if s["action"] == "kept" else "" for s in segments).count("pip install requests") == 1
    by_reason = {s["reason"]: s for s in segments}
    assert by_reason["indented_code"]["action"] == "kept" and by_reason["indented_code"]["kind"] == "code_block"
    assert next(s for s in segments if s["action"] == "protected")["spans"] == ["`python app.py`"]
    assert [s["index"] for s in segments] == list(range(len(segments)))


def test_explain_unknown_id_is_one_line_naming_id_and_source(tmp_path: Path, fake) -> None:
    src = explain_sample(tmp_path / "in.jsonl")
    result = run("translate", "file", src, "--backend", "fake", "--explain", "nope")
    assert result.exit_code == 1
    assert "'nope'" in result.output and str(src) in result.output and "Traceback" not in result.output
    bare = run("translate", "file", src, "--backend", "fake", "--json")
    assert bare.exit_code == 1 and "--json goes with --explain" in bare.output


def test_explain_works_for_a_dataset_builder_with_local_data(fake) -> None:
    dolly = REPO / "tests" / "data" / "datasets" / "dolly.jsonl"
    result = run("translate", "dolly", "--source", dolly, "--explain", "dolly-00000", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["id"] == "dolly-00000" and report["messages"][0]["segments"][0]["action"] == "sent"


@pytest.mark.parametrize(("backend_commercial", "source_stamp", "expected"), [
    (True, None, True), (True, True, True), (False, None, False), (False, True, False), (True, False, False),
])  # fmt: skip
def test_translations_carry_the_stamp_lowered_by_a_non_commercial_mt_model(
    tmp_path: Path, fake, monkeypatch: pytest.MonkeyPatch, backend_commercial: bool, source_stamp, expected
) -> None:
    monkeypatch.setattr(type(fake), "commercial", backend_commercial)
    src = tmp_path / "in.jsonl"
    record = conversation("s0", [("user", "What is two plus two?"), ("assistant", "Four.")], source="mine")
    write_jsonl(src, [record.to_dict() | ({} if source_stamp is None else {"commercial": source_stamp})])
    out = tmp_path / "out.jsonl"
    declared = ["--option", "license=Apache-2.0", "--option", "commercial=true"]  # the file's source is cleared
    result = run("translate", "file", src, *declared, "--backend", "fake", "--out", out, "--cache", tmp_path / "c")
    assert result.exit_code == 0, result.output
    (translated,) = read_conversations(out)
    assert translated.commercial is expected
