# Source on a bare GPU server (no internet): installs the wheels in .whl/ (pure-Python mamba-ssm, pygame,
# einops, gymnasium and ale-py; build them with scripts/fetch_gpu_wheels.sh and copy them along with the
# checkout) into WORLDSIM_SITE (default /tmp/site) and puts worldsim on the path.
site=${WORLDSIM_SITE:-/tmp/site}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl \
  || { echo "wheel install failed"; exit 1; }
export PYTHONPATH=$site:$PWD PYTHONUNBUFFERED=1
# NVLink multicast (NVLS) off for NCCL and PyTorch's symmetric memory: some multi-GPU servers (virtual
# machines in particular) cannot set it up, and this model's gradients (25 MB) are too small to gain much
# from it. WORLDSIM_NVLS=1 keeps NCCL's defaults on a server where it works.
if [ "${WORLDSIM_NVLS:-0}" != 1 ]; then
  export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
# Compiled kernels kept between jobs: the first job of a fresh server spends minutes autotuning mamba-ssm's
# Triton kernels and compiling the model (2.4 minutes before the first step of configs/memory.yaml on one
# H200). TRITON_CACHE_AUTOTUNING keeps the autotuner's choices with the kernels. A job that ends with
# `save_compile_cache OUT` leaves OUT/compile_cache.tar.gz; put it in the checkout as
# .gpu_cache/compile_cache.tar.gz and the next job on a fresh server starts from it.
compile_cache=/tmp/worldsim-compile-cache
export TRITON_CACHE_DIR=$compile_cache/triton TORCHINDUCTOR_CACHE_DIR=$compile_cache/inductor TRITON_CACHE_AUTOTUNING=1
if [ ! -d "$compile_cache" ] && [ -f .gpu_cache/compile_cache.tar.gz ]; then
  mkdir -p "$compile_cache" && tar -xzf .gpu_cache/compile_cache.tar.gz -C "$compile_cache" \
    && echo "compile cache: $(du -sh "$compile_cache" | cut -f1) restored from .gpu_cache/compile_cache.tar.gz"
fi
save_compile_cache() {  # OUT: the archive must stay under 15 MiB to travel; without inductor's if it is bigger
  local archive=${1:?save_compile_cache OUT}/compile_cache.tar.gz limit=$((15 * 1024 * 1024))
  [ -d "$compile_cache" ] || return 0
  tar -czf "$archive" -C "$compile_cache" .
  if [ "$(stat -c %s "$archive")" -gt "$limit" ]; then tar -czf "$archive" -C "$compile_cache" triton; fi
  if [ "$(stat -c %s "$archive")" -gt "$limit" ]; then rm -f "$archive"; echo "compile cache over 15 MiB: not saved"; fi
  [ -f "$archive" ] && echo "compile cache saved: $(du -h "$archive" | cut -f1)"
  return 0
}
