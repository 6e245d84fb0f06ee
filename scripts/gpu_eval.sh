#!/usr/bin/env bash
# The ship-or-not benchmark on a GPU server, each part under its own time limit (CLIPS held-out mazes for
# the rollouts, default 32, and MAZES for the memory tests, default 16; 3 Euler steps; the same mazes, walks
# and noise on every run). Put the shipped weights first: every other checkpoint is compared with it clip by
# clip (eval.json's versus_first: the difference and its standard error). Jobs before this one scored 8
# mazes (CLIPS=8 MAZES=8 repeats them).
#   bash scripts/gpu_eval.sh OUT CHECKPOINT [CHECKPOINT ...]
# Chains after a training job in the same command, e.g.
#   bash scripts/gpu_train_chunk.sh OUT 6 checkpoints/default.safetensors configs/memory.yaml &&
#   bash scripts/gpu_eval.sh OUT runs/chunked/latest.safetensors
# Leaves in OUT: eval.json (one-step, 100-frame rollout, standing still, copy-last), memory.{json,png,mp4}
# (retrace, rotation, recall, memory gain, action response) and their logs.
set -u
out=${1:?usage: gpu_eval.sh OUT CHECKPOINT [CHECKPOINT ...]}; shift
[ $# -gt 0 ] || { echo "gpu_eval.sh: no checkpoint given"; exit 2; }
mkdir -p "$out"
source scripts/gpu_setup.sh
run() { local limit=$1 name=$2; shift 2; echo "== $name: $*"; timeout "$limit" "$@" >"$out/$name.log" 2>&1;
        echo "   exit $? after $SECONDS s"; tr '\r' '\n' <"$out/$name.log" | grep -v "it/s\|s/it\|frame/s" | tail -n 14; }
run 200 eval_compare python -m worldsim eval compare "$@" --device cuda --rollout 100 --clips "${CLIPS:-32}" --no-progress \
  --out "$out/eval.json"
run 300 eval_memory python -m worldsim eval memory "$@" --device cuda --mazes "${MAZES:-16}" --out "$out/memory"
