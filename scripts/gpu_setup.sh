# Source on a bare GPU server (no internet): installs the wheels in .whl/ (pure-Python mamba-ssm, pygame,
# einops; build them with scripts/fetch_gpu_wheels.sh and copy them along with the checkout) and puts
# worldsim on the path.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { echo "wheel install failed"; exit 1; }
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
# NVLink multicast (NVLS) off for NCCL and PyTorch's symmetric memory: some multi-GPU servers (virtual
# machines in particular) cannot set it up, and this model's gradients (25 MB) are too small to gain much
# from it. WORLDSIM_NVLS=1 keeps NCCL's defaults on a server where it works.
if [ "${WORLDSIM_NVLS:-0}" != 1 ]; then
  export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
