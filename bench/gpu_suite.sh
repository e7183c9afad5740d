#!/usr/bin/env bash
# ru-llm's GPU suite: one JSON line per figure on stdout (and in $OUT/gpu_suite.jsonl when $OUT is set),
# then a summary line. Random-weight models built from configs; nothing is downloaded.
#
#   bash bench/gpu_suite.sh            # one H100/H200-class GPU, under 8 minutes
#   bash bench/gpu_suite.sh --smoke    # tiny models on the CPU, every key printed (a test runs this)
#
# Options: --device cpu|cuda, --budget-seconds N, --out FILE. Python: $PYTHON, else the repository's
# .venv, else `uv run`, else python3. docs/benchmarks.md says what each key means.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
if [[ -n "${PYTHON:-}" ]]; then
  py=("$PYTHON")
elif [[ -x .venv/bin/python ]]; then
  py=(.venv/bin/python)
elif command -v uv >/dev/null 2>&1; then
  py=(uv run --offline python)
else
  py=(python3)
fi
export PYTHONPATH="$repo/bench:$repo/tests${PYTHONPATH:+:$PYTHONPATH}"
exec "${py[@]}" -m gpu_suite "$@"
