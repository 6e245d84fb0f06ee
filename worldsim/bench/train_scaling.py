"""Multi-GPU part of the training throughput benchmark: per-rank totals and the torchrun launch.

Weak scaling: each of the N processes keeps the per-GPU batch data.batch_size, so the global batch is
N × data.batch_size and perfect scaling is N times the one-process frames/s (scaling_efficiency 1.0).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from worldsim.train.distributed import ProcessInfo, all_reduce_sum


def sum_over_ranks(result: dict[str, Any], info: ProcessInfo) -> dict[str, Any]:
    """Totals over ranks: model and data frames/s add up; the peak (and so MFU) is that of all GPUs."""
    data_fps = result["data_frames_per_s"]
    # float64 on the rank's device: NCCL reduces only CUDA tensors
    values = torch.tensor([result["frames_per_s"], data_fps or 0.0, result["step_ms_median"]],
                          dtype=torch.float64, device=info.device)
    frames_per_s, data_total, step_ms_sum = all_reduce_sum(values, info).tolist()
    achieved = frames_per_s * result["train_tflops_per_frame_estimate"]
    peak = result["peak_tflops"] * info.world_size if result["peak_tflops"] else None
    return dict(
        result, world_size=info.world_size, global_batch_size=result["batch_size"] * info.world_size,
        step_ms_median=step_ms_sum / info.world_size,  # mean over ranks of each rank's median
        frames_per_s=frames_per_s, data_frames_per_s=data_total if data_fps is not None else None,
        achieved_tflops=achieved, peak_tflops=peak, mfu=achieved / peak if peak else None,
    )


def torchrun_throughput(gpus: int, args: list[str]) -> dict[str, Any]:
    """Run the benchmark under torchrun with `gpus` processes; `args` are its options (no --gpus, no --out)."""
    if torch.cuda.is_initialized():
        gc.collect()
        torch.cuda.empty_cache()  # the one-process run's cached blocks would crowd rank 0's GPU
    with tempfile.TemporaryDirectory(prefix="train_throughput_") as tmp:
        out = Path(tmp) / "distributed.json"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}",
                   "-m", "worldsim.bench.train_throughput", "--out", str(out), *args]
        subprocess.run(command, check=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        return json.loads(out.read_text())


def combine(single: dict[str, Any], distributed: dict[str, Any], gpus: int) -> dict[str, Any]:
    return {
        "single": single, "distributed": distributed, "gpus": gpus,
        "scaling_efficiency": distributed["frames_per_s"] / (gpus * single["frames_per_s"]),
    }
