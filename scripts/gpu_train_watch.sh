#!/usr/bin/env bash
# On the GPU machine: wait up to $1 seconds for the training run in $RUN to finish, then copy what a
# person needs to look at (metrics, log, newest sample strip, and the weights once finished) into $OUT.
# Weights are split into 15 MiB parts because the device tool returns files of at most 16 MiB.
set -u
deadline=$(( $(date +%s) + $1 ))
while [ "$(date +%s)" -lt "$deadline" ] && pgrep -f "worldsim train" >/dev/null; do sleep 10; done
cp "$RUN/metrics.jsonl" "$OUT/" 2>/dev/null
tail -c 20000 "$RUN.log" > "$OUT/train_log.txt" 2>/dev/null
sample=$(ls -t "$RUN"/samples/*.png 2>/dev/null | head -1); [ -n "$sample" ] && cp "$sample" "$OUT/"
if ! pgrep -f "worldsim train" >/dev/null && [ -f "$RUN/latest.safetensors" ]; then
  split -b 15M -d "$RUN/latest.safetensors" "$OUT/latest.safetensors.part"
  echo "training finished"
else
  echo "training still running"
fi
grep -h validation "$RUN/metrics.jsonl" 2>/dev/null | tail -3
