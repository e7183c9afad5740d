#!/usr/bin/env bash
# The whole Ruadapt chain, offline, on tiny random-weight stand-ins for a base model and its instruct
# model (Qwen2.5 family, the real Qwen2.5 tokenizer): a Russian vocabulary, stage 1 on Russian text,
# LEP into the instruct model, calibration with the copy task, a merged result, and what to measure.
# Each step is one `ru-llm` command, printed as you would type it; run.py runs them all in one Python
# process so torch is imported once (docs/ruadapt.md: the measured time and each step's real settings).
#
#   bash examples/ruadapt/run.sh [WORK_DIR]      # default: scratch/ruadapt-demo (git ignores scratch/)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
exec uv run --project "$REPO" python "$REPO/examples/ruadapt/run.py" "$@"
