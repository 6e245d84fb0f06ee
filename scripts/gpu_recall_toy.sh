#!/usr/bin/env bash
# Recall-toy variants side by side on one GPU server: each variant trains configs/recall_toy.yaml in its own
# process for MINUTES (all at once: the toy model is far too small to fill the GPU alone), then every saved
# checkpoint is scored on the held-out episodes (worldsim eval recall-toy):
#   bash scripts/gpu_recall_toy.sh OUT MINUTES 'NAME K [key=value ...]' ['NAME K ...' ...]
# K is the number of patterns (1 or 2: the dataset, written once per K); the overrides change the model or
# the trainer, e.g. 'state64 2 model.ssm_state=64' or 'pack 1 model.temporal=pack+local'.
# Leaves in OUT: NAME.json (recall-frame PSNR per checkpoint, every 1,000 steps), NAME.log (training output)
# and summary.txt (one line per checkpoint).
set -u
out=${1:?usage: gpu_recall_toy.sh OUT MINUTES 'NAME K [key=value ...]' ...}
minutes=${2:?minutes}; shift 2
[ $# -gt 0 ] || { echo "gpu_recall_toy.sh: no variant given"; exit 2; }
mkdir -p "$out"
source scripts/gpu_setup.sh
data=${TOY_DATA:-/tmp/recall_toy}
for patterns in $(printf '%s\n' "$@" | awk '{print $2}' | sort -u); do
  [ -d "$data/k$patterns" ] || python -m worldsim eval recall-toy --write-data "$data/k$patterns" \
    --patterns "$patterns" --no-progress &
done
wait
for variant in "$@"; do
  read -r name patterns overrides <<<"$variant"
  # 4 CPU threads per process at most: the GPU does the work, the threads only launch it
  OMP_NUM_THREADS=4 python -m worldsim train --config configs/recall_toy.yaml --data "$data/k$patterns" \
    --out "runs/toy_$name" --max-minutes "$minutes" --no-progress device="${TOY_DEVICE:-cuda}" schedule.max_steps=1000000 \
    logging.checkpoint_every=1000 logging.keep_checkpoints=0 logging.validate_every=1000000 \
    logging.validate_at_start=false $overrides >"$out/$name.log" 2>&1 &
done
wait
echo "training done after $SECONDS s"
for variant in "$@"; do
  read -r name patterns _ <<<"$variant"
  python -m worldsim eval recall-toy --data "$data/k$patterns" runs/toy_"$name"/checkpoints/step_*/ema.safetensors \
    --device "${TOY_DEVICE:-cuda}" --no-progress --out "$out/$name.json" >>"$out/$name.log" 2>&1 &
done
wait
python - "$out" "$@" <<'EOF' | tee "$out/summary.txt"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for variant in sys.argv[2:]:
    name = variant.split()[0]
    path = out / f"{name}.json"
    if not path.exists():
        print(f"{name}: no result (see {name}.log)")
        continue
    for row in json.loads(path.read_text())["checkpoints"]:
        patterns = " ".join(f"p{g['pattern']} {g['psnr_whole']:.2f}" for g in row["by_pattern"])
        print(f"{variant:<40} step {row['step']:>6}: whole {row['psnr_whole']:.2f} window "
              f"{row['psnr_window']:.2f} gain {row['memory_gain']:+.2f} copy-last {row['psnr_copy_last']:.2f} "
              f"[{patterns}]")
EOF
echo "all done after $SECONDS s"
