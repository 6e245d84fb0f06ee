#!/usr/bin/env bash
# The speed measurements of docs/training.md ("Throughput") and docs/playing.md, one part per GPU job of
# at most ~9 minutes, each command under its own time limit so that one slow part cannot sink the rest:
#   bash scripts/gpu_speed.sh OUT train    # training step: profiles and frames/s of the default, memory
#                                          # and 12-layer memory_deep configs (8 x 256-frame clips)
#   bash scripts/gpu_speed.sh OUT play     # play ms/frame: CUDA graph vs graph + compile (default, 12 layers)
#   bash scripts/gpu_speed.sh OUT tests    # the GPU tests (pytest -m cuda): ~9 minutes on a fresh server,
#                                          # most of it compiling and autotuning kernels for each test's shapes
# (.whl/ beside the checkout, see docs/gpu.md). Writes JSON and logs to OUT, then the compile cache.
set -u
out=${1:?usage: gpu_speed.sh OUT train|play|tests}; part=${2:?train, play or tests}
source scripts/gpu_setup.sh
run() { local limit=$1 name=$2; shift 2; echo "== $name: $*"; timeout "$limit" "$@" >"$out/$name.log" 2>&1;
        echo "   exit $? after $SECONDS s"; tail -n 3 "$out/$name.log"; }
throughput="python -m worldsim.bench.train_throughput --steps 6 --warmup 3 --profile 3"
long="data.clip_length=256 data.batch_size=8"
case $part in
  train)
    run 200 profile_default $throughput --config configs/default.yaml --data-batches 0 \
      --out "$out/profile_default_compiled.json" compile=true
    run 150 profile_memory $throughput --config configs/memory.yaml --data-batches 3 \
      --out "$out/profile_memory.json" $long
    run 200 profile_memory_deep $throughput --config configs/memory_deep.yaml --data-batches 0 \
      --out "$out/profile_memory_deep.json" $long
    ;;
  play)
    run 200 play_default python -m worldsim.bench.play --device cuda --frames 3000 --steps 3 \
      --variants ssm+local --modes graph graph+compile --out "$out/bench_play_compile"
    run 300 play_deep python -m worldsim.bench.play --device cuda --frames 3000 --steps 3 \
      --variants ssm+local --modes graph graph+compile --config configs/memory_deep.yaml \
      --out "$out/bench_play_compile_deep"
    ;;
  tests)
    run 540 pytest_cuda python -m pytest -v -p no:cacheprovider -m cuda --timeout 240 --durations 0 tests/
    ;;
  *) echo "unknown part $part (train, play or tests)"; exit 2 ;;
esac
save_compile_cache "$out"
