#!/usr/bin/env bash
# One job of the Atari Breakout world (docs/own-game.md), for a GPU server without internet whose jobs run
# minutes each and whose outputs must stay small (files up to 16 MiB):
#   bash scripts/gpu_atari_chunk.sh OUT MINUTES [key=value ...]   (.whl/ from fetch_gpu_wheels.sh beside the checkout)
# MINUTES is the whole job. It records data/atari_breakout unless the server still holds it, trains
# configs/atari_breakout.yaml into runs/atari until RESERVE minutes are left (resuming runs/atari when the
# server still holds it, else from the weights INIT if set, else from scratch; key=value overrides go to
# worldsim train), then scores the newest weights on the held-out episodes. Leaves in OUT: metrics.jsonl,
# eval.json (rollout PSNR and the copy-last-frame baseline), strip.png (a held-out clip: truth on top, the
# model's rollout below), log.txt, the EMA weights in 15 MiB parts (`cat ema.part.* > breakout.safetensors`)
# and compile_cache.tar.gz (for .gpu_cache/ on a fresh server: scripts/gpu_setup.sh).
# Environment: EPISODES (1000), STEPS (frames per episode at most, 1000), WORKERS (recording processes,
# default cores - 2), EVAL_CLIPS / EVAL_CONTEXT / EVAL_ROLLOUT / EVAL_STEPS (32 / 16 / 32 / 10, the config's
# logging.sampling_steps), RESERVE (2 minutes), INIT, DOWNSCALE (area, or dilate: the ball stays bright; recorded
# into data/atari_breakout_dilate and trained in runs/atari_dilate, apart from the area run).
set -uo pipefail
out=${1:?usage: gpu_atari_chunk.sh OUT MINUTES [key=value ...]}
minutes=${2:?minutes}; shift 2
mkdir -p "$out"
source scripts/gpu_setup.sh
downscale=${DOWNSCALE:-area}
case "$downscale" in
  area) data=data/atari_breakout run=runs/atari ;;
  dilate) data=data/atari_breakout_dilate run=runs/atari_dilate ;;
  *) echo "DOWNSCALE must be area or dilate, got $downscale"; exit 1 ;;
esac
log=$out/log.txt status=0
episodes=${EPISODES:-1000} steps=${STEPS:-1000}
workers=${WORKERS:-$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))}

# The episodes of one `worldsim record --seed 0 --episodes $episodes ...` (episode n is reset with seed n;
# docs/own-game.md has the command), recorded by $workers processes, each a run of seeds, numbered in seed
# order: a job on a server that lost the dataset records the same one again.
record() {
  local tmp=data/.${data#data/}.tmp per=$(( (episodes + workers - 1) / workers )) k j n=0 pids=() failed=0
  rm -rf "$tmp" && mkdir -p "$tmp/all"  # a killed job's leftovers
  for ((k = 0; k * per < episodes; k++)); do
    python -m worldsim record --env gym:ALE/Breakout-v5 --env-kwargs '{"repeat_action_probability": 0.0}' \
      --repeat-prob 0.5 --fps 15 --height 64 --width 64 --downscale "$downscale" --steps "$steps" --seed $((k * per)) \
      --episodes $(( episodes - k * per < per ? episodes - k * per : per )) --out "$tmp/shard_$k" \
      --no-progress --threads 1 > "$tmp/shard_$k.log" 2>&1 &
    pids+=($!)
  done
  for ((j = 0; j < k; j++)); do
    wait "${pids[j]}" || { failed=1; tail -5 "$tmp/shard_$j.log"; }
  done
  [ "$failed" = 0 ] || return 1
  for ((j = 0; j < k; j++)); do
    for episode in "$tmp/shard_$j"/episode_*; do
      mv "$episode" "$tmp/all/$(printf 'episode_%06d' "$n")" && n=$((n + 1))
    done
  done
  python -m worldsim data index "$tmp/all" && [ "$n" = "$episodes" ] && mv "$tmp/all" "$data" && rm -rf "$tmp"
}

if [ -d "$data" ]; then
  held=$(python -c "import json, sys; print(json.load(open(sys.argv[1]))['num_episodes'])" "$data/index.json")
  [ "$held" = "$episodes" ] || { echo "$data holds $held episodes, not $episodes: delete it or set EPISODES=$held"; exit 1; }
  echo "kept $data ($held episodes) from an earlier job"
else
  echo "recording $episodes episodes with $workers processes"
  record || { echo "recording failed"; exit 1; }
  echo "recorded $data in ${SECONDS}s"
fi

if [ -f "$run/latest.safetensors" ]; then start=(--resume)
elif [ -n "${INIT:-}" ]; then start=("init_from=$INIT")
else start=(); fi
train_minutes=$(python -c "import sys; print(f'{max(0.5, float(sys.argv[1]) - int(sys.argv[2]) / 60 - float(sys.argv[3])):.2f}')" \
  "$minutes" "$SECONDS" "${RESERVE:-2}")
echo "training for $train_minutes minutes, starting with ${start[*]:-a fresh model}" | tee -a "$log"
python -m worldsim train --config configs/atari_breakout.yaml --out "$run" --max-minutes "$train_minutes" \
  --no-progress "${start[@]}" "data.dataset_dir=$data" "$@" 2>&1 | tee -a "$log" | tail -c 4000 || status=1
python -m worldsim eval --data "$data" "$run/latest.safetensors" --clips "${EVAL_CLIPS:-32}" \
  --context "${EVAL_CONTEXT:-16}" --rollout "${EVAL_ROLLOUT:-32}" --steps "${EVAL_STEPS:-10}" --out "$out/eval.json" --strip "$out/strip.png" \
  --no-progress 2>&1 | tee -a "$log" | tail -c 2000 || status=1
cp "$run/metrics.jsonl" "$out/" || status=1
split -b 15M "$run/latest.safetensors" "$out/ema.part." || status=1
save_compile_cache "$out"
echo "job done in ${SECONDS}s"
exit "$status"
