"""The whole Ruadapt chain, offline, on tiny random-weight stand-ins (Qwen2.5 family, the real Qwen2.5
tokenizer): a Russian vocabulary, stage 1 on Russian text, LEP into the instruct model, calibration with
the copy task, a merged result, and what to measure.

Every step is one ``ru-llm`` command, printed as you would type it (``$ ru-llm ...``) and run in this one
Python process, so torch and transformers are imported once rather than once per step (on a busy 2-core
machine that import alone takes 20-40 s). Each step prints its own time. Real models: replace ``base`` and
``instruct`` by their directories and drop the max_steps/max_length settings (docs/ruadapt.md gives each
step's real settings).

    bash examples/ruadapt/run.sh [WORK_DIR]        # default: scratch/ruadapt-demo (git ignores scratch/)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEXT = REPO / "tests/data/text/ru_ud_gsd_dev.txt"  # Russian UD sentences (CC BY-SA 4.0)
OASST = REPO / "tests/data/datasets/oasst/en_20_tree.jsonl"


def ru_llm(*args: object, capture: bool = False) -> str:
    """Run ``ru-llm ARGS`` in this process as the console script would; with ``capture``, return its stdout."""
    from ru_llm.cli.main import main

    argv = [str(a) for a in args]
    print(f"$ ru-llm {shlex.join(argv)}", flush=True)
    start = time.perf_counter()
    out = io.StringIO()
    code: object = 0
    with contextlib.redirect_stdout(out) if capture else contextlib.nullcontext():
        try:
            main(argv)
        except SystemExit as stop:
            code = stop.code
    if code not in (0, None):
        print(out.getvalue(), end="")
        sys.exit(f"ru-llm {argv[0]} {argv[1]} failed (exit {code})")
    print(f"  ({time.perf_counter() - start:.1f} s)", flush=True)
    return out.getvalue()


def write(name: str, text: str) -> str:
    Path(name).write_text(text, encoding="utf-8")
    return name


def chain() -> None:
    print("== 0. stand-ins: a tiny random base, and an 'instruct' model fine-tuned from it", flush=True)
    sys.path.insert(0, str(REPO / "tests"))
    from kit.tiny_models import build_tiny_model

    build_tiny_model("qwen2", "base")
    ru_llm("dataset", "load", "oasst1", "--source", OASST, "--out", "oasst.jsonl")
    instruct = """\
strategy: full
model: base
data: oasst.jsonl
output_dir: instruct
template: chatml
max_length: 256
max_steps: 3
batch_size: 2
optimizer: {lr: 1.0e-3}
"""
    ru_llm("train", "run", write("instruct.yaml", instruct), "--overwrite")

    print("== 1. a Russian vocabulary for the base, and embedding rows for it", flush=True)
    # real runs: --corpus wordfreq:ru or your text, --add 8000-30000
    ru_llm("tokenize", "extend", "--base", "base", "--corpus", TEXT, "--add", "300", "--out", "tokenizer-ru",
           "--overwrite")  # fmt: skip
    report = ru_llm("tokenize", "resize-model", "--model", "base", "--tokenizer", "tokenizer-ru", "--out", "base-ru",
                    "--overwrite", "--json", capture=True)  # fmt: skip
    first_new = json.loads(report)["old_vocab"]

    print("== 2. stage 1: only the new embedding rows train, on Russian text", flush=True)
    stage1 = f"""\
preset: ruadapt-embeddings
model: base-ru
output_dir: base-ru-trained
max_length: 128
max_steps: 3
batch_size: 2
grad_accum: 1
embeddings: {{train: new, first_new_row: {first_new}}}
cpt:
  corpora: [{{path: {TEXT}, license: CC-BY-SA-4.0, name: ud-russian}}]
"""
    ru_llm("train", "run", write("stage1.yaml", stage1), "--overwrite")

    print("== 3. LEP: the adapted vocabulary carried into the instruct model", flush=True)
    ru_llm("train", "lep", "--base", "base", "--instruct", "instruct", "--adapted-base", "base-ru-trained",
           "--mode", "conversion", "--out", "lep", "--overwrite")  # fmt: skip

    print("== 4. calibration: instructions mixed with the copy task, LoRA on the first and last layers", flush=True)
    recipe = f"""\
seed: 1
validation: 0.05
sources:
  - builder: oasst1
    source: {OASST}
  - builder: copy
    source: {TEXT}
    options: {{license: CC-BY-SA-4.0, commercial: true, min_chars: 40, max_chars: 300}}
    weight: 0.2
"""
    ru_llm("dataset", "build", write("calibration.yaml", recipe), "--out", "calibration-data", "--overwrite")
    calibrate = """\
preset: ruadapt-calibrate
model: lep
data: calibration-data
output_dir: calibrated
template: chatml
max_length: 256
max_steps: 3
grad_accum: 1
gradient_checkpointing: false
"""
    ru_llm("train", "run", write("calibrate.yaml", calibrate), "--overwrite")
    ru_llm("train", "merge", "calibrated", "--out", "final", "--overwrite")

    print("== 5. measure: characters per token, perplexity in bits per character, a generation", flush=True)
    ru_llm("tokenize", "stats", "-t", "base", "-t", "final", "--text", TEXT)
    ru_llm("eval", "run", "perplexity,generation_speed", "--model", "final", "--data", TEXT, "--limit", "8",
           "--device", "cpu", "--out", "final-eval.json")  # fmt: skip


if __name__ == "__main__":
    started = time.perf_counter()
    work = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "scratch" / "ruadapt-demo").resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    chain()
    print(f"done in {time.perf_counter() - started:.0f} s: the calibrated model is in {work / 'final'}")
