#!/usr/bin/env bash
# The GPU measurements of issues #2 (render, CPU/GPU agreement) and #5 (play benchmark, engine CUDA tests),
# in one command on a GPU server, each under its own time limit so that one slow part cannot sink the rest:
#   bash scripts/gpu_measure.sh OUT_DIR        (.whl/ beside the checkout; see docs/gpu.md)
set -u
out=${1:?usage: gpu_measure.sh OUT_DIR}
source scripts/gpu_setup.sh
run() { local limit=$1 name=$2; shift 2; echo "== $name: $*"; timeout "$limit" "$@" 2>&1 | tee "$out/$name.txt"; }
run 90 render_gpu python -m worldsim.bench.render --device cuda --out "$out/render_gpu.json"
run 90 pytest_env_cuda python -m pytest -q -m cuda -p no:cacheprovider tests/test_env_world.py
run 230 bench_play python -m worldsim.bench.play --device cuda --frames 10000 --steps 3 \
  --variants ssm+local local --modes graph --out "$out/bench_play_gpu"
run 100 bench_play_full python -m worldsim.bench.play --device cuda --frames 1000 --steps 3 \
  --variants full --full-max-frames 1000 --out "$out/bench_play_full_gpu"
run 120 pytest_engine_cuda python -m pytest -q -m cuda -p no:cacheprovider --durations=5 tests/test_engine_cuda_graph.py
