"""Parity with lm-evaluation-harness, and `lm_eval:<task>` in `ru-llm eval run`.

The same tiny random model, the bundled MMLU subjects and the same settings go through lm-eval
(``simple_evaluate`` with an ``HFLM`` on the model directory and a task YAML written here: its own
``mmlu`` template on our CSVs) and through ``ru_llm.eval.run.evaluate``: every question must get the
same predicted letter, and the letters' log-likelihoods must agree to float noise, which also catches a
BOS token one side adds and the other does not (a random model's prediction rarely changes with it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from kit.lm_eval_mmlu import lm_eval_mmlu
from kit.train_data import one_line_error

MMLU_DATA = Path(__file__).resolve().parent.parent / "data" / "mmlu"
MULTILINE = MMLU_DATA / "multiline"  # real rows with line breaks inside quoted fields
SUBJECTS = ["anatomy", "marketing", "world_religions"]


@pytest.mark.slow
def test_our_task_yaml_is_lm_evals_own_mmlu_template(tmp_path: Path) -> None:
    import lm_eval
    import yaml

    from ru_llm.eval.lm_eval_bridge import mmlu_task_yamls

    shipped = Path(lm_eval.__file__).parent / "tasks" / "mmlu" / "default"
    template = yaml.safe_load((shipped / "_default_template_yaml").read_text(encoding="utf-8"))
    anatomy = yaml.safe_load((shipped / "mmlu_anatomy.yaml").read_text(encoding="utf-8"))
    [name] = mmlu_task_yamls(MMLU_DATA, ["anatomy"], tmp_path)
    ours = yaml.safe_load((tmp_path / f"{name}.yaml").read_text(encoding="utf-8"))
    expected_text = template["doc_to_text"]
    for i in range(4):
        expected_text = expected_text.replace(f"choices[{i}]", f"choice{i}")  # our CSV's columns
    assert ours["doc_to_text"] == expected_text
    assert ours["description"] == anatomy["description"]
    for key in ("output_type", "doc_to_choice", "doc_to_target", "fewshot_config", "test_split", "fewshot_split"):
        assert ours[key] == template[key], key


@pytest.mark.slow
@pytest.mark.parametrize(
    ("family", "shots", "add_bos"),
    [
        ("llama", 1, None),  # LLaMA's tokenizer adds a BOS: lm-eval >= 0.4.10 keeps it, so must we
        ("llama", 0, False),
        ("qwen2", 1, None),  # no BOS; byte-level BPE, the 151k vocabulary
    ],
)
def test_predictions_agree_with_lm_eval_question_by_question(
    tiny_model, tmp_path: Path, family: str, shots: int, add_bos: bool | None
) -> None:
    from ru_llm.eval.lm_eval_bridge import mmlu_task_yamls
    from ru_llm.eval.models.hf import ModelSettings
    from ru_llm.eval.run import evaluate
    from ru_llm.eval.task import TaskSettings
    from ru_llm.eval.tasks.mmlu import MMLU

    # the first 10 of each subject's 40 questions: 120 letters' log-likelihoods to 2e-5 each (a BOS one side
    # adds, another template or tokenization moves every one of them); the 151k-way logits made all 40 ~30 s
    model_dir, limit = tiny_model(family), 10
    names = mmlu_task_yamls(MMLU_DATA, SUBJECTS, tmp_path / "tasks")
    answers = lm_eval_mmlu(model_dir, tmp_path / "tasks", names, shots, add_bos=add_bos, limit=limit)
    theirs = {k: a.logprobs for k, a in answers.items()}

    model = ModelSettings(str(model_dir), device="cpu", dtype="fp32", batch_size=8, add_bos=add_bos)
    settings = TaskSettings(data=str(MMLU_DATA), subjects=tuple(SUBJECTS), shots=shots, limit=limit)
    results = evaluate([("mmlu", MMLU)], model, settings, tmp_path / "r.json")
    items = results["tasks"]["mmlu"]["items"]

    expected_ids = [f"{subject}/{row}" for subject in SUBJECTS for row in range(limit)]
    assert [i["id"] for i in items] == expected_ids and sorted(theirs) == sorted(expected_ids)
    assert all(i["shots"] == shots for i in items)  # every prompt fits the 256-token context whole
    ours = {i["id"]: i["prediction"] for i in items}
    their_letters = {k: "ABCD"[max(range(4), key=lambda c: lls[c])] for k, lls in theirs.items()}
    disagree = [k for k in their_letters if their_letters[k] != ours[k]]
    assert not disagree, f"{len(disagree)} of {len(items)} predictions differ, first: {disagree[:5]}"
    for item in items:
        assert item["logprobs"] == pytest.approx(theirs[item["id"]], abs=2e-5), item["id"]  # noise: ~1e-6


@pytest.mark.slow
def test_prompts_and_loglikelihoods_agree_with_lm_eval_on_rows_with_line_breaks(tiny_model, tmp_path: Path) -> None:
    """Real MMLU rows whose quoted fields span lines (college computer science, econometrics: code,
    tables, "I. … II. …" lists, in the questions and in the 5 dev shots): lm-eval reads them with pandas
    through HF datasets, ru-llm with its CSV reader; every prompt must be the same text, character for
    character, and every letter's log-likelihood the same up to float noise."""
    from ru_llm.eval.lm_eval_bridge import mmlu_task_yamls
    from ru_llm.eval.models.hf import HFEvalModel, ModelSettings
    from ru_llm.eval.run import evaluate
    from ru_llm.eval.task import TaskSettings
    from ru_llm.eval.tasks.mmlu import MMLU

    subjects, limit, shots = ["college_computer_science", "econometrics"], 6, 5
    model_dir = _with_context(tiny_model("llama"), tmp_path / "model", 4096)  # 5 such shots: ~1-2k tokens
    names = mmlu_task_yamls(MULTILINE, subjects, tmp_path / "tasks")
    theirs = lm_eval_mmlu(model_dir, tmp_path / "tasks", names, shots, limit=limit)

    model = HFEvalModel(ModelSettings(str(model_dir), device="cpu", dtype="fp32", batch_size=8))
    prompts: list[str] = []
    answer = model.loglikelihood

    def recording(requests, progress):  # type: ignore[no-untyped-def]
        prompts.extend(r.context for r in requests)
        return answer(requests, progress)

    model.loglikelihood = recording  # type: ignore[method-assign]
    settings = TaskSettings(data=str(MULTILINE), subjects=tuple(subjects), shots=shots, limit=limit)
    results = evaluate([("mmlu", MMLU)], model.settings, settings, tmp_path / "r.json", model=model)
    items = results["tasks"]["mmlu"]["items"]

    assert sorted(i["id"] for i in items) == sorted(theirs) and len(items) == 2 * limit
    assert all(i["shots"] == shots for i in items)  # nothing cut: both prompts are whole
    assert set(prompts) == {a.prompt for a in theirs.values()}
    # without line breaks inside fields a 5-shot prompt has 2 + 5 * 7 + 5 of them: the shots have more,
    # and question 2 more than question 0 (same shots)
    lines = {k: a.prompt.count("\n") for k, a in theirs.items()}
    assert min(lines.values()) > 42
    assert lines["college_computer_science/2"] > lines["college_computer_science/0"]
    for item in items:
        assert item["logprobs"] == pytest.approx(theirs[item["id"]].logprobs, abs=2e-5), item["id"]
        their_letter = "ABCD"[max(range(4), key=lambda c: theirs[item["id"]].logprobs[c])]
        assert item["prediction"] == their_letter


def _with_context(model_dir: Path, out: Path, positions: int) -> Path:
    """A copy of a tiny model directory whose config allows ``positions`` tokens (RoPE: same weights)."""
    import shutil

    shutil.copytree(model_dir, out)
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    config["max_position_embeddings"] = positions
    (out / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return out


@pytest.mark.slow
def test_lm_eval_tasks_run_in_ru_llm_eval_run_on_the_same_model_and_adapter(cli, tiny_model, tmp_path: Path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from ru_llm.eval.lm_eval_bridge import mmlu_task_yamls

    model_dir = tiny_model("llama")
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    lora = LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, lora).save_pretrained(tmp_path / "adapter")  # random, so it changes the answers
    [name] = mmlu_task_yamls(MMLU_DATA, ["anatomy"], tmp_path / "tasks")
    out = tmp_path / "r.json"

    def args(out: Path, *adapter: object) -> list[object]:
        return ["eval", "run", f"mmlu,lm_eval:{name}", "--model", model_dir, *adapter, "--data", f"mmlu={MMLU_DATA}",
                "--data", f"lm_eval:{name}={tmp_path / 'tasks'}", "--subjects", "anatomy", "--shots", "1",
                "--limit", "8", "--batch-size", "4", "--device", "cpu", "--out", out]  # fmt: skip

    adapter = ("--adapter", tmp_path / "adapter")
    result = cli(*args(out, *adapter))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    bridged = data["tasks"][f"lm_eval:{name}"]
    ours = data["tasks"]["mmlu"]
    assert bridged["counts"] == {"items": 8, "scored": 8, "failed": 0, "reused_from_cache": 0}
    assert [i["id"] for i in bridged["items"]] == [f"{name}/{n}" for n in range(8)]
    assert [i["prediction"] for i in bridged["items"]] == [i["prediction"] for i in ours["items"]]
    assert [i["gold"] for i in bridged["items"]] == [i["gold"] for i in ours["items"]]
    for theirs, mine in zip(bridged["items"], ours["items"], strict=True):
        assert theirs["logprobs"] == pytest.approx(mine["logprobs"], abs=1e-4)
    assert bridged["metrics"]["acc,none"] == pytest.approx(ours["metrics"]["accuracy"])
    assert "acc_stderr,none" in bridged["metrics"]
    assert bridged["lm_eval"]["n_shot"] == {name: 1} and bridged["lm_eval"]["version"]
    assert data["versions"]["lm-eval"]

    # the adapter was applied on the lm-eval side too: without it the log-likelihoods differ
    plain = tmp_path / "plain.json"
    result = cli(*args(plain))
    assert result.exit_code == 0, result.output
    unadapted = json.loads(plain.read_text(encoding="utf-8"))["tasks"][f"lm_eval:{name}"]["items"]
    assert unadapted[0]["logprobs"] != pytest.approx(bridged["items"][0]["logprobs"], abs=1e-3)

    again = cli(*args(out, *adapter))  # lm-eval's answers are cached next to the results file
    assert again.exit_code == 0, again.output
    rerun = json.loads(out.read_text(encoding="utf-8"))["tasks"][f"lm_eval:{name}"]
    assert rerun["counts"]["reused_from_cache"] == 8
    assert rerun["items"] == bridged["items"]

    line = one_line_error(cli("eval", "run", "lm_eval:ru_llm_mmlu_anatomyy", "--model", model_dir,
                              "--data", tmp_path / "tasks", "--out", tmp_path / "x.json"))  # fmt: skip
    assert "lm-evaluation-harness has no task 'ru_llm_mmlu_anatomyy'" in line and name in line


def test_without_lm_eval_installed_the_error_names_the_extra(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "lm_eval", None)  # `import lm_eval` now raises ImportError
    model = tmp_path / "model"  # looks like a model on disk; the missing extra is found before it loads
    model.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (model / name).write_text("{}", encoding="utf-8")
    line = one_line_error(cli("eval", "run", "lm_eval:hellaswag", "--model", model, "--out", tmp_path / "r.json"))
    assert 'pip install "ru-llm-eval[lm-eval]"' in line
    assert not (tmp_path / "r.json").exists()


def test_a_bare_lm_eval_task_name_says_to_write_lm_eval_prefix(cli, tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    if importlib.util.find_spec("lm_eval") is None:
        pytest.skip("lm-eval is not installed")
    run = ("--model", tmp_path, "--out", tmp_path / "r.json")
    line = one_line_error(cli("eval", "run", "mmlu,hellaswag", *run))
    assert "unknown task 'hellaswag': an lm-evaluation-harness task; run it as lm_eval:hellaswag" in line
    line = one_line_error(cli("eval", "run", "hellaswagg", *run))  # a typo of lm-eval's name
    assert "Known: copy," in line and "lm-evaluation-harness has 'hellaswag': lm_eval:hellaswag" in line
    line = one_line_error(cli("eval", "run", "mmlu_r", *run))  # a typo of ours: only ours is suggested
    assert "did you mean 'mmlu_ru'?" in line and "lm_eval:" not in line
    line = one_line_error(cli("eval", "run", "no_such_benchmark_anywhere", *run))
    assert "unknown task 'no_such_benchmark_anywhere'. Known:" in line and "lm_eval:" not in line

    monkeypatch.setitem(sys.modules, "lm_eval", None)  # not installed: it might know the name, so say how
    line = one_line_error(cli("eval", "run", "hellaswag", *run))
    assert "unknown task 'hellaswag'. Known:" in line
    assert 'written lm_eval:hellaswag and needs pip install "ru-llm-eval[lm-eval]"' in line
    assert not (tmp_path / "r.json").exists()


def test_a_typo_of_an_lm_eval_task_is_told_without_indexing_lm_evals_own_tasks(tmp_path: Path, monkeypatch) -> None:
    """lm-eval's own index (~14k names from ~16k YAML files, ~10 CPU-s) is built only for a name its task
    files mention somewhere; a typo is refused with close names from a second's plain reading of them."""
    pytest.importorskip("lm_eval")
    import lm_eval.tasks

    from ru_llm.core.errors import ConfigError
    from ru_llm.eval.lm_eval_bridge import LMEvalTask, lm_eval_may_ship
    from ru_llm.eval.task import TaskSettings

    # names its index holds (one with brackets, which the quick name scan misses), never our typos
    for name in ("hellaswag", "mmlu", "tmmluplus_education_(profession_level)", "arc_easy"):
        assert lm_eval_may_ship(name), name
    assert not lm_eval_may_ship("hellaswagg") and not lm_eval_may_ship("ru_llm_mmlu_anatomyy")

    built: list[bool] = []
    real = lm_eval.tasks.TaskManager

    def recording(*args, include_defaults: bool = True, **kwargs):  # type: ignore[no-untyped-def]
        built.append(include_defaults)
        return real(*args, include_defaults=include_defaults, **kwargs)

    monkeypatch.setattr(lm_eval.tasks, "TaskManager", recording)
    with pytest.raises(ConfigError) as error:
        LMEvalTask("hellaswagg").load(TaskSettings())
    assert "lm-evaluation-harness has no task 'hellaswagg'" in str(error.value)
    assert "hellaswag" in (error.value.hint or "").split("close: ")[1]
    assert built == [False]  # lm-eval's own tasks were not indexed

    (tmp_path / "mine.yaml").write_text("task: my_task\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        LMEvalTask("my_taks").load(TaskSettings(data=str(tmp_path)))
    assert f"(nor in {tmp_path})" in str(error.value) and "my_task" in (error.value.hint or "")
    assert built == [False, False, False]


def test_lm_eval_output_folds_into_metrics_subtasks_and_string_id_items() -> None:
    from ru_llm.eval.lm_eval_bridge import fold_results

    def sample(doc_id: int, flt: str, text: str, hit: float) -> dict:
        return {"doc_id": doc_id, "target": "42", "arguments": {"gen_args_0": {"arg_0": "Q?", "arg_1": {}}},
                "resps": [[text]], "filtered_resps": [text], "filter": flt, "metrics": ["exact_match"],
                "exact_match": hit, "doc_hash": "d", "prompt_hash": "p"}  # fmt: skip

    out = {
        "results": {
            "maths": {"alias": "maths", " ": " "},
            "gsm": {
                "alias": "gsm",
                "exact_match,strict": 0.5,
                "exact_match_stderr,strict": "N/A",
                "exact_match,flexible": 1.0,
            },
        },
        "groups": {"maths": {"alias": "maths", "exact_match,strict": 0.5}},
        "samples": {
            "gsm": [
                sample(1, "strict", "41", 0.0),
                sample(0, "strict", "42", 1.0),
                sample(0, "flexible", "42", 1.0),
                sample(1, "flexible", "42", 1.0),
            ]
        },
        "n-samples": {"gsm": {"original": 100, "effective": 2}},
        "lm_eval_version": "0.4.13",
    }
    entry = fold_results("maths", out)
    assert entry["metrics"] == {"exact_match,strict": 0.5}
    assert entry["subtasks"] == {"gsm": {"exact_match,strict": 0.5, "exact_match,flexible": 1.0}}
    assert [i["id"] for i in entry["items"]] == ["gsm/0/flexible", "gsm/0/strict", "gsm/1/flexible", "gsm/1/strict"]
    assert entry["items"][3] == {"id": "gsm/1/strict", "task": "gsm", "filter": "strict", "prediction": "41",
                                "gold": "42", "score": 0.0, "metrics": {"exact_match": 0.0},
                                "doc_hash": "d", "prompt_hash": "p"}  # fmt: skip
    assert entry["counts"]["items"] == 2 and entry["counts"]["scored"] == 4

    tag = fold_results("some_tag", out)  # a tag has no aggregate: every task's metrics, prefixed
    assert tag["metrics"]["gsm/exact_match,flexible"] == 1.0

    choice = {"doc_id": 3, "target": 2, "arguments": [["Q", " A"], ["Q", " B"], ["Q", " C"]],
              "filtered_resps": [(-3.0, False), (-1.0, False), (-2.0, False)], "filter": "none",
              "metrics": ["acc"], "acc": 0.0}  # fmt: skip
    [item] = fold_results("mc", {"results": {"mc": {"acc,none": 0.0}}, "samples": {"mc": [choice]}})["items"]
    assert item["id"] == "mc/3" and item["prediction"] == "B" and item["gold"] == "C"
    assert item["logprobs"] == [-3.0, -1.0, -2.0]
