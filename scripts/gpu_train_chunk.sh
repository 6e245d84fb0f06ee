#!/usr/bin/env bash
# One resumable training chunk, for a GPU server whose jobs run minutes each and whose outputs must stay
# small (files up to 16 MiB); run 2 in docs/training.md was trained this way:
#   bash scripts/gpu_train_chunk.sh OUT MINUTES INIT CONFIG [key=value ...]   (.whl/ and INIT beside the checkout)
# Resumes the run folder RUN (an environment variable, default runs/chunked) when the server still holds it
# from the previous job, else starts it from the weights INIT. Leaves in OUT train.log (the whole output; the
# job's own output keeps its last 4,000 characters), metrics.jsonl, the newest
# validation strip and the EMA weights split into 15 MiB parts (`cat ema.part.* > ema.safetensors` puts them
# together). Runs that share a server need a RUN each, or one would resume the other's checkpoint:
#   RUN=runs/memory_local bash scripts/gpu_train_chunk.sh OUT MINUTES INIT configs/memory_local.yaml [key=value ...]
# GPUS=2 trains on two GPUs of the server (torchrun, one process per GPU; data.batch_size clips per GPU, so
# the global batch doubles; every rank stops at the same step).
set -uo pipefail
out=${1:?usage: gpu_train_chunk.sh OUT MINUTES INIT CONFIG [key=value ...]}
minutes=${2:?minutes}; init=${3:?initial weights}; config=${4:?config}; shift 4
source scripts/gpu_setup.sh
run=${RUN:-runs/chunked}
if [ -f "$run/latest.safetensors" ]; then start=(--resume); else start=("init_from=$init"); fi
gpus=${GPUS:-1}
launch=()  # with torchrun: one training process per GPU
[ "$gpus" -gt 1 ] && launch=(python -m torch.distributed.run --standalone --nproc_per_node "$gpus" --no-python)
echo "run folder $run, starting with ${start[*]}, on $gpus GPU(s)"
"${launch[@]}" python -m worldsim train --config "$config" --out "$run" --max-minutes "$minutes" --no-progress "${start[@]}" "$@" \
  2>&1 | tee "$out/train.log" | tail -c 4000
cp "$run/metrics.jsonl" "$out/"
strip=$(ls "$run"/samples/*.png 2>/dev/null | tail -1)
[ -n "$strip" ] && cp "$strip" "$out/"
split -b 15M "$run/latest.safetensors" "$out/ema.part."
save_compile_cache "$out"
