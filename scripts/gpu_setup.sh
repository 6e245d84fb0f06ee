# Source on a bare GPU machine (no internet): installs the carried wheels (.whl/: pure-Python mamba-ssm,
# pygame, einops) and puts worldsim on the path. Build .whl/ with scripts/fetch_gpu_wheels.sh.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { echo "wheel install failed"; exit 1; }
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
