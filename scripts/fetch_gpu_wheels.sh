#!/usr/bin/env bash
# Builds .whl/ for a GPU machine without internet (Python 3.12, x86_64; PYTHON_VERSION=3.11 for a server
# with another Python): a pure-Python mamba-ssm wheel (its CUDA extension is only used by Mamba-1; see
# docs/gpu.md), pygame and einops, and the Atari games (gymnasium, ale-py with its ROMs, and
# farama-notifications; their numpy, cloudpickle and typing-extensions come with PyTorch's usual set).
set -euo pipefail
cd "$(dirname "$0")/.."
python_version=${PYTHON_VERSION:-3.12}
# mamba-ssm's setup.py imports torch and wheel (no build isolation: it must see the installed torch).
python -c "import torch, wheel" 2>/dev/null || {
  echo "fetch_gpu_wheels.sh: needs torch and wheel in the active environment: . .venv/bin/activate && pip install wheel" >&2
  exit 1
}
mkdir -p .whl && rm -f .whl/*.whl  # built afresh: no wheel left over for another Python
MAMBA_SKIP_CUDA_BUILD=TRUE MAMBA_FORCE_BUILD=TRUE python -m pip wheel -q --no-deps --no-build-isolation mamba-ssm==2.3.2.post1 -w .whl
python -m pip download -q --no-deps --only-binary=:all: --python-version "$python_version" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl pygame==2.6.1 einops gymnasium==1.4.0 ale-py==0.12.1 farama-notifications==0.0.6
du -ch .whl/*.whl | tail -1
