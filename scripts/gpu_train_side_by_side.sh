#!/usr/bin/env bash
# Several training runs side by side on one GPU server, one process each, for MINUTES of training, e.g. the
# three memory variants at the same steps from the same weights (docs/training.md, "Comparing the memory
# variants"):
#   bash scripts/gpu_train_side_by_side.sh OUT MINUTES INIT 'NAME CONFIG [key=value ...]' ['NAME CONFIG ...' ...]
# Each run lives in runs/NAME: resumed when the server still holds it from the previous job, else started
# from the weights INIT. Sized for a server whose jobs return few files (up to 16 MiB each), OUT receives:
#   runs.tar.gz          every run's train.log, metrics.jsonl and newest validation strip
#   weights.tar.part.*   every run's EMA weights as bf16 (`cat weights.tar.part.* | tar -x` unpacks NAME.safetensors)
#   compile_cache.tar.gz for .gpu_cache/ on a fresh server (scripts/gpu_setup.sh)
# Each run is stopped MINUTES + GRACE seconds (default 90) after its start whatever it is doing (SIGTERM, then
# SIGKILL a minute later), so the job packs what the others wrote even when one run hangs.
# The runs share the GPU's memory: give them settings that fit together (e.g. data.batch_size=4 at 256-frame
# clips for three 6.4 M-parameter runs on one 141 GB GPU) and fewer maze processes each (data.maze_workers=4).
set -uo pipefail
out=${1:?usage: gpu_train_side_by_side.sh OUT MINUTES INIT 'NAME CONFIG [key=value ...]' ...}
minutes=${2:?minutes}; init=${3:?initial weights}; shift 3
[ $# -gt 0 ] || { echo "gpu_train_side_by_side.sh: no run given"; exit 2; }
mkdir -p "$out"
source scripts/gpu_setup.sh
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True  # several processes: less memory lost to fragments
status=0 pids=()
limit=$(python -c "import sys; print(int(float(sys.argv[1]) * 60) + int(sys.argv[2]))" "$minutes" "${GRACE:-90}")
for spec in "$@"; do
  read -r name config overrides <<<"$spec"
  run=runs/$name
  if [ -f "$run/latest.safetensors" ]; then start=(--resume); else start=("init_from=$init"); fi
  mkdir -p "$run" && echo "$name: $config, starting with ${start[*]} $overrides"
  # 4 CPU threads per process: the GPU does the work, the threads only launch it. A hard limit as well: a
  # run that never reaches its first step (a compilation that does not end) must not keep the others'
  # results from being packed; SIGTERM stops a training run cleanly at its next step.
  # shellcheck disable=SC2086  # the overrides are words on purpose
  OMP_NUM_THREADS=4 timeout --signal=TERM --kill-after=60 "$limit" python -m worldsim train --config "$config" \
    --out "$run" --max-minutes "$minutes" --no-progress "${start[@]}" $overrides >>"$run/train.log" 2>&1 &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[i]}"; code=$?
  if [ "$code" = 124 ] || [ "$code" = 137 ]; then status=1; echo "run $((i + 1)) stopped at the hard limit ($limit s)"
  elif [ "$code" != 0 ]; then status=1; echo "run $((i + 1)) failed (exit $code)"; fi
done
echo "training done after $SECONDS s"
files=() && mkdir -p /tmp/side_by_side_weights
for spec in "$@"; do
  read -r name _ <<<"$spec"
  run=runs/$name
  grep -v "^\s*$" "$run/train.log" | tail -n 4 | sed "s/^/$name: /"
  files+=("$run/train.log" "$run/metrics.jsonl")
  strip=$(ls "$run"/samples/*.png 2>/dev/null | tail -1) && [ -n "$strip" ] && files+=("$strip")
  if [ -f "$run/latest.safetensors" ]; then
    python -m worldsim export "$run/latest.safetensors" --bf16 --out "/tmp/side_by_side_weights/$name.safetensors" \
      >/dev/null || status=1
  else
    echo "$name: no weights (the run wrote no checkpoint)"; status=1
  fi
done
existing=() && for f in "${files[@]}"; do [ -f "$f" ] && existing+=("$f"); done
tar -czf "$out/runs.tar.gz" "${existing[@]}" || status=1
tar -cf - -C /tmp/side_by_side_weights . | split -b 15M - "$out/weights.tar.part."
save_compile_cache "$out"
echo "all done after $SECONDS s"
exit "$status"
