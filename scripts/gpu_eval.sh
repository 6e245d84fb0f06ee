#!/usr/bin/env bash
# The ship-or-not benchmark of new weights against the shipped ones, on a GPU server, each part under its
# own time limit (8 held-out mazes, 3 Euler steps; docs/training.md, "Shipping new weights"):
#   bash scripts/gpu_eval.sh OUT NEW [BASE]     (BASE defaults to checkpoints/default.safetensors)
# Chains after a training job in the same command, e.g.
#   bash scripts/gpu_train_chunk.sh OUT 6 checkpoints/default.safetensors configs/memory.yaml &&
#   bash scripts/gpu_eval.sh OUT runs/chunked/latest.safetensors
# Leaves in OUT: eval.json (one-step, 100-frame rollout, standing still, copy-last), memory.{json,png,mp4}
# (retrace, rotation, recall, memory gain, action response) and their logs.
set -u
out=${1:?usage: gpu_eval.sh OUT NEW [BASE]}; new=${2:?new weights}; base=${3:-checkpoints/default.safetensors}
mkdir -p "$out"
source scripts/gpu_setup.sh
run() { local limit=$1 name=$2; shift 2; echo "== $name: $*"; timeout "$limit" "$@" >"$out/$name.log" 2>&1;
        echo "   exit $? after $SECONDS s"; tr '\r' '\n' <"$out/$name.log" | grep -v "it/s\|s/it\|frame/s" | tail -n 14; }
run 150 eval_compare python -m worldsim eval compare "$base" "$new" --device cuda --rollout 100 --no-progress \
  --out "$out/eval.json"
run 300 eval_memory python -m worldsim eval memory "$base" "$new" --device cuda --out "$out/memory"
