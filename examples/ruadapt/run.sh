#!/usr/bin/env bash
# The whole Ruadapt chain, offline, on tiny random-weight stand-ins for a base model and its instruct
# model (Qwen2.5 family, the real Qwen2.5 tokenizer): a Russian vocabulary, stage 1 on Russian text,
# LEP into the instruct model, calibration with the copy task, a merged result, and what to measure.
# A few minutes on a laptop CPU. Real models: replace `base` and `instruct` by their directories and
# drop the max_steps/max_length overrides (docs/ruadapt.md gives each step's real settings).
#
#   bash examples/ruadapt/run.sh [WORK_DIR]      # default: ./ruadapt-demo
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-ruadapt-demo}
mkdir -p "$WORK"
cd "$WORK"
run() { uv run --project "$REPO" "$@"; }
TEXT="$REPO/tests/data/text/ru_ud_gsd_dev.txt"   # Russian UD sentences (CC BY-SA 4.0)
OASST="$REPO/tests/data/datasets/oasst/en_20_tree.jsonl"

echo "== 0. stand-ins: a tiny random base, and an 'instruct' model fine-tuned from it"
run python -c "import sys; sys.path.insert(0, '$REPO/tests'); from kit.tiny_models import build_tiny_model; build_tiny_model('qwen2', 'base')"
run ru-llm dataset load oasst1 --source "$OASST" --out oasst.jsonl
cat > instruct.yaml <<YAML
strategy: full
model: base
data: oasst.jsonl
output_dir: instruct
template: chatml
max_length: 256
max_steps: 5
batch_size: 2
optimizer: {lr: 1.0e-3}
YAML
run ru-llm train run instruct.yaml --overwrite

echo "== 1. a Russian vocabulary for the base, and embedding rows for it"
run ru-llm tokenize extend --base base --corpus "$TEXT" --add 300 --out tokenizer-ru --overwrite  # real runs: --corpus wordfreq:ru or your text, --add 8000-30000
run ru-llm tokenize resize-model --model base --tokenizer tokenizer-ru --out base-ru --overwrite --json > resize.json
FIRST_NEW=$(run python -c "import json; print(json.load(open('resize.json'))['old_vocab'])")

echo "== 2. stage 1: only the new embedding rows train, on Russian text"
cat > stage1.yaml <<YAML
preset: ruadapt-embeddings
model: base-ru
output_dir: base-ru-trained
max_length: 128
max_steps: 5
batch_size: 2
grad_accum: 1
embeddings: {train: new, first_new_row: $FIRST_NEW}
cpt:
  corpora: [{path: $TEXT, license: CC-BY-SA-4.0, name: ud-russian}]
YAML
run ru-llm train run stage1.yaml --overwrite

echo "== 3. LEP: the adapted vocabulary carried into the instruct model"
run ru-llm train lep --base base --instruct instruct --adapted-base base-ru-trained --mode conversion --out lep --overwrite

echo "== 4. calibration: instructions mixed with the copy task, LoRA on the first and last layers + embeddings"
cat > calibration.yaml <<YAML
seed: 1
validation: 0.05
sources:
  - builder: oasst1
    source: $OASST
  - builder: copy
    source: $TEXT
    options: {license: CC-BY-SA-4.0, commercial: true, min_chars: 40, max_chars: 300}
    weight: 0.2
YAML
run ru-llm dataset build calibration.yaml --out calibration-data --overwrite
cat > calibrate.yaml <<YAML
preset: ruadapt-calibrate
model: lep
data: calibration-data
output_dir: calibrated
template: chatml
max_length: 256
max_steps: 5
grad_accum: 1
gradient_checkpointing: false
YAML
run ru-llm train run calibrate.yaml --overwrite
run ru-llm train merge calibrated --out final --overwrite

echo "== 5. measure: characters per token, perplexity in bits per character, a generation"
run ru-llm tokenize stats -t base -t final --text "$TEXT"
run ru-llm eval run perplexity,generation_speed --model final --data "$TEXT" --limit 8 --device cpu --out final-eval.json
echo "done: the calibrated model is in $WORK/final"
