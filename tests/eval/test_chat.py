"""`ru-llm chat`: one message on stdout for scripts, the interactive loop (/system, /reset, /exit, end of
input), history trimmed to the context, LoRA adapters (base from adapter_config.json or given), and bad input
as one line before torch or transformers is imported.

The chat model is a tiny random Qwen2 with Qwen2.5's tokenizer pruned to a small vocabulary (``chat_model``
in tests/eval/conftest.py: the same pipeline and chat template; the 151k-piece tokenizer took a CPU-second to
load in each of the 15 ``ru-llm chat`` runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kit.train_data import one_line_error

from ru_llm.core.conversation import Message
from ru_llm.eval.chat import ChatSession, GenerationSettings, StopCut, chat_loop, end_of_turn


@pytest.fixture(scope="module")
def adapter(chat_model: Path, tmp_path_factory) -> Path:
    """A LoRA adapter on the tiny chat model with non-zero weights (so it changes replies), saved with the
    tokenizer as a LoRA run saves it."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = chat_model
    model = AutoModelForCausalLM.from_pretrained(base)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"]))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=1.0)
    out = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


CPU = ("--device", "cpu")


# -- one message for scripts ---------------------------------------------------------------------------------
def test_prompt_prints_the_greedy_reply_of_the_chat_template_alone_on_stdout(cli, chat_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = chat_model
    result = cli("chat", model_dir, "--prompt", "Привет", "--max-new-tokens", "8", *CPU)
    assert result.exit_code == 0, result.output
    # what transformers itself gives for the same conversation: its apply_chat_template, greedy, cut at the
    # template's end of turn
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    text = tok.apply_chat_template([{"role": "user", "content": "Привет"}], tokenize=False, add_generation_prompt=True)
    ids = tok(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
    expected = tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True).split("<|im_end|>")[0].strip()
    assert expected
    assert result.stdout == expected + "\n"
    assert expected not in result.stderr
    again = cli("chat", model_dir, "--prompt", "Привет", "--max-new-tokens", "8", *CPU)
    assert again.stdout == result.stdout


def test_a_registered_template_renders_a_model_without_one(cli, tiny_model) -> None:
    model_dir = tiny_model("llama")  # the LLaMA-2 tokenizer has no chat template
    plain = cli("chat", model_dir, "--template", "chatml", "--prompt", "Привет", "--max-new-tokens", "6", *CPU)
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.strip() and plain.stdout.count("\n") == 1
    other = cli("chat", model_dir, "--template", "saiga", "--prompt", "Привет", "--max-new-tokens", "6", *CPU)
    assert other.exit_code == 0 and other.stdout.strip()


@pytest.mark.slow
def test_a_lora_adapter_alone_loads_its_base_and_changes_the_reply(cli, chat_model: Path, adapter) -> None:
    base = chat_model
    args = ("--prompt", "Привет", "--max-new-tokens", "8", *CPU)
    plain = cli("chat", base, *args)
    alone = cli("chat", adapter, *args)  # the base from adapter_config.json
    given = cli("chat", base, "--adapter", adapter, *args)
    flag_only = cli("chat", "--adapter", adapter, *args)
    for result in (plain, alone, given, flag_only):
        assert result.exit_code == 0, result.output
    assert alone.stdout.strip() and alone.stdout == given.stdout == flag_only.stdout
    assert alone.stdout != plain.stdout


def test_sampling_with_a_temperature_is_reproducible_by_seed(cli, chat_model: Path) -> None:
    model_dir = chat_model
    args = ("chat", model_dir, "--prompt", "Привет", "--max-new-tokens", "8", "--temperature", "1.5", *CPU)
    first, second = cli(*args, "--seed", "3"), cli(*args, "--seed", "3")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() and first.stdout == second.stdout


# -- the interactive loop -------------------------------------------------------------------------------------
def test_the_loop_answers_each_message_and_obeys_system_reset_and_exit(cli, chat_model: Path) -> None:
    model_dir = chat_model
    typed = "/system Отвечай кратко.\nПривет\n/reset\nКак дела?\n/nope\n/exit\nНе прочитано\n"
    result = cli("chat", model_dir, "--max-new-tokens", "6", *CPU, input=typed)
    assert result.exit_code == 0, result.output
    replies = result.stdout.splitlines()
    assert len(replies) == 2 and all(r.strip() for r in replies)
    assert "(system message: Отвечай кратко.)" in result.stderr
    assert "(conversation forgotten; the system message stays)" in result.stderr
    assert "unknown command /nope" in result.stderr
    # end of input (Ctrl-D) ends it as cleanly as /exit
    ended = cli("chat", model_dir, "--max-new-tokens", "6", *CPU, input="Привет\n")
    assert ended.exit_code == 0 and len(ended.stdout.splitlines()) == 1


def test_history_is_trimmed_to_the_context_and_the_user_told_once(cli, chat_model: Path) -> None:
    model_dir = chat_model
    long = "Расскажи подробно о том, как устроена русская грамматика и почему падежей шесть. "
    typed = "".join(f"{long}{i}\n" for i in range(4))
    result = cli("chat", model_dir, "--max-length", "80", "--max-new-tokens", "8", "--system", "Ты помощник.", *CPU,
                 input=typed)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 4
    assert result.stderr.count("the oldest turns are dropped") == 1
    too_long = cli("chat", model_dir, "--max-length", "32", "--max-new-tokens", "8", "--prompt", long * 3, *CPU)
    assert "the message is too long" in one_line_error(too_long)


# -- the session, with a model that records what it is asked ---------------------------------------------------
class EchoModel:
    """One token per character; replies "ok"; records every conversation it renders for a reply."""

    context = 50
    end = ""

    def __init__(self) -> None:
        self.asked: list[list[Message]] = []

    def encode(self, messages: list[Message]) -> list[int]:
        self.last = messages
        return [0] * sum(len(m.content) + 2 for m in messages)

    def stream(self, ids: list[int], params: dict[str, Any]) -> Iterator[str]:
        self.asked.append(self.last)
        yield " o"
        yield "k "


def test_session_keeps_the_system_message_and_drops_the_oldest_turns_whole(capsys) -> None:
    model = EchoModel()
    notes: list[str] = []
    session = ChatSession(model, GenerationSettings(max_new_tokens=10), system="sys", note=notes.append)
    lines = iter(["aaaaaaaaaa", "bbbbbbbbbb", "/system SYS", "cccccccccc", "/reset", "dddd", "/system", "e"])
    chat_loop(session, lambda: next(lines, None), sys.stdout)
    assert capsys.readouterr().out == "ok\n" * 5
    asked = [[(m.role, m.content) for m in conv] for conv in model.asked]
    assert asked[0] == [("system", "sys"), ("user", "aaaaaaaaaa")]
    assert asked[1] == [("system", "sys"), ("user", "aaaaaaaaaa"), ("assistant", "ok"), ("user", "bbbbbbbbbb")]
    # 5+12+4+12+4+12 = 49 tokens > 50 - 10: the first turn (user and reply) goes, the new system message stays
    assert asked[2] == [("system", "SYS"), ("user", "bbbbbbbbbb"), ("assistant", "ok"), ("user", "cccccccccc")]
    assert asked[3] == [("system", "SYS"), ("user", "dddd")]
    assert asked[4][-2:] == [("assistant", "ok"), ("user", "e")] and asked[4][0] == ("user", "dddd")
    assert sum("oldest turns are dropped" in n for n in notes) == 1


def test_replies_are_capped_at_half_the_context() -> None:
    notes: list[str] = []
    session = ChatSession(EchoModel(), GenerationSettings(), note=notes.append)  # greedy: 1024 new tokens
    assert session.params == {"do_sample": False, "max_new_tokens": 25}
    assert notes == ["note: replies are capped at 25 tokens, half of the 50-token context (asked: 1024)"]


def test_generation_settings_follow_the_mt_bench_presets() -> None:
    assert GenerationSettings().params() == {"do_sample": False, "max_new_tokens": 1024}
    paper = GenerationSettings("paper", max_new_tokens=50).params()
    assert paper["max_new_tokens"] == 50 and paper["repetition_penalty"] == 1.1 and "temperature" not in paper
    assert GenerationSettings("fastchat").params() == {"do_sample": True, "temperature": 0.7, "max_new_tokens": 1024}
    assert GenerationSettings("paper", temperature=0.3).params()["temperature"] == 0.3
    assert "temperature" not in GenerationSettings("fastchat", temperature=0).params()


def test_stop_strings_are_cut_even_when_split_across_chunks() -> None:
    cut = StopCut("<|im_end|>")
    out = [cut.feed(c) for c in ("При", "вет<", "|im", "_en", "d|>", "tail")]
    assert "".join(out) + cut.flush() == "Привет" and out[:2] == ["При", "вет"]
    held = StopCut("</s>")
    assert held.feed("a<") == "a" and held.feed("b") == "<b" and held.flush() == ""
    assert StopCut("").feed("x</s>") == "x</s>"


def test_the_end_of_turn_comes_from_the_template() -> None:
    from ru_llm.dataset.templates.hf import resolve_template

    ends = {name: end_of_turn(resolve_template(name)) for name in ("chatml", "llama3", "saiga", "human_assistant")}
    assert ends == {"chatml": "<|im_end|>", "llama3": "<|eot_id|>", "saiga": "</s>", "human_assistant": "</endoftext>"}


# -- bad input ---------------------------------------------------------------------------------------------------
def _bad_inputs(root: Path, tiny_model, chat_model: Path, adapter: Path) -> dict[str, tuple[list[str], str]]:
    no_tokenizer = root / "no-tokenizer"
    no_tokenizer.mkdir()
    (no_tokenizer / "config.json").write_text("{}", encoding="utf-8")
    no_weights = root / "bin-weights"
    no_weights.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (no_weights / name).write_bytes((chat_model / name).read_bytes())
    not_adapter = root / "empty"
    not_adapter.mkdir()
    llama, qwen = str(tiny_model("llama")), str(chat_model)
    return {
        "missing model": ([str(root / "nope")], "no such directory"),
        "no tokenizer": ([str(no_tokenizer)], "no tokenizer files"),
        "no safetensors": ([str(no_weights)], "no *.safetensors weights"),
        "missing adapter": ([qwen, "--adapter", str(root / "nope")], "--adapter"),
        "not an adapter": ([qwen, "--adapter", str(not_adapter)], "no adapter_config.json"),
        "adapter for another base": ([llama, "--adapter", str(adapter)], "was trained on"),
        "adapter twice": ([str(adapter), "--adapter", str(adapter)], "is a LoRA adapter, and --adapter"),
        "no chat template": ([llama], "the tokenizer has no chat template"),
        "unknown template": ([qwen, "--template", "chatmk"], "unknown template 'chatmk'; did you mean 'chatml'?"),
        "unknown preset": ([qwen, "--preset", "fast"], "--preset 'fast'"),
        "empty prompt": ([qwen, "--prompt", " "], "--prompt is empty"),
        "no model": ([], "no model given"),
    }


@pytest.mark.slow
def test_bad_input_is_one_line_before_torch_or_transformers_is_imported(
    tiny_model, chat_model: Path, adapter, tmp_path
) -> None:
    cases = _bad_inputs(tmp_path, tiny_model, chat_model, adapter)
    script = (
        "import json, sys\nfrom ru_llm.cli.main import main\nout = {}\n"
        f"for name, args in {json.dumps({k: v[0] for k, v in cases.items()})}.items():\n"
        "    print('@@', name, file=sys.stderr, flush=True)\n"
        "    try:\n        main(['chat', *args])\n        out[name] = 0\n"
        "    except SystemExit as e:\n        out[name] = e.code\n"
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'accelerate') if m in sys.modules]\n"
        "print(json.dumps({'codes': out, 'heavy': heavy}))\n"
    )
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("RU_LLM_DEBUG", None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["heavy"] == [], report
    errors: dict[str, list[str]] = {}
    for line in done.stderr.splitlines():
        if line.startswith("@@ "):
            current = errors.setdefault(line[3:], [])
        elif line.strip():
            current.append(line)
    for name, (_, expected) in cases.items():
        assert report["codes"][name] == 1, (name, done.stderr)
        lines = errors[name]
        assert len(lines) == 1 and lines[0].startswith("Error: "), (name, lines)
        assert expected in lines[0], (name, lines[0])
