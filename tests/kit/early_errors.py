"""Typical mistakes on the command line, each run in a fresh interpreter to see what it imported.

``python -m kit.early_errors ARGS...`` runs ``ru-llm ARGS`` and prints, as its last stdout line, a JSON
object with the exit code, the seconds taken and which heavy libraries were imported by then.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HEAVY = ("torch", "transformers", "deepspeed", "bitsandbytes", "peft", "trl", "datasets")


def mistakes(root: Path, tiny_model: Path) -> dict[str, list[str]]:
    """Each typical mistake as ``ru-llm`` arguments, with the files it needs made under ``root``."""
    import yaml

    data = root / "data.jsonl"
    data.write_text('{"id": "a", "messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    no_tokenizer = root / "no-tokenizer"
    no_tokenizer.mkdir(exist_ok=True)
    (no_tokenizer / "config.json").write_text("{}", encoding="utf-8")
    used = root / "used-out"
    used.mkdir(exist_ok=True)
    (used / "notes.txt").write_text("mine", encoding="utf-8")

    def config(name: str, **values: Any) -> str:
        base = {"strategy": "lora", "model": str(tiny_model), "data": str(data), "output_dir": str(root / "out")}
        path = root / f"{name}.yaml"
        path.write_text(yaml.safe_dump({**base, **values}), encoding="utf-8")
        return str(path)

    mmlu = str(Path(__file__).resolve().parent.parent / "data" / "mmlu")
    return {
        "train: missing model": ["train", "run", config("m", model=str(root / "no-such-model"))],
        "train: model without tokenizer": ["train", "run", config("t", model=str(no_tokenizer))],
        "train: missing data": ["train", "run", config("d", data=str(root / "no-such.jsonl"))],
        "train: used output dir": ["train", "run", config("o", output_dir=str(used))],
        "train: bad key": ["train", "run", config("k", lora={"rr": 2})],
        "train: unknown template": ["train", "run", config("p", template="chatmk")],
        "eval: missing model": [
            "eval",
            "run",
            "mmlu",
            "--model",
            str(root / "no-such-model"),
            "--data",
            mmlu,
            "--out",
            str(root / "r.json"),
        ],
        "eval: model without tokenizer": [
            "eval",
            "run",
            "mmlu",
            "--model",
            str(no_tokenizer),
            "--data",
            mmlu,
            "--out",
            str(root / "r.json"),
        ],
        "eval: unknown task": ["eval", "run", "mmlux", "--model", str(tiny_model), "--out", str(root / "r.json")],
        "eval: missing data": [
            "eval",
            "run",
            "mmlu",
            "--model",
            str(tiny_model),
            "--data",
            str(root / "nodata"),
            "--out",
            str(root / "r.json"),
        ],
        "dataset build: missing recipe": ["dataset", "build", str(root / "no-recipe.yaml"), "--out", str(root / "b")],
    }


def run(args: list[str], *, cwd: Path) -> dict[str, Any]:
    """``ru-llm ARGS`` in a fresh interpreter: exit code, seconds, heavy modules imported, output."""
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    env.pop("RU_LLM_DEBUG", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kit.early_errors", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    seconds = time.perf_counter() - started
    report = json.loads(done.stdout.strip().split("\n")[-1])
    return {**report, "seconds": seconds, "stderr": done.stderr}


def main(args: list[str]) -> None:
    from ru_llm.cli.main import main as cli_main

    code = 0
    try:
        cli_main(args)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    sys.stdout.flush()
    print("\n" + json.dumps({"exit_code": code, "heavy": [m for m in HEAVY if m in sys.modules]}))


if __name__ == "__main__":
    main(sys.argv[1:])
