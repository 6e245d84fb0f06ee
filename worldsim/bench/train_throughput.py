"""Training throughput of a config on this device: frames/s and model FLOPs utilisation (MFU), as JSON.

    python -m worldsim.bench.train_throughput --config configs/default.yaml --out train_throughput.json
    python -m worldsim.bench.train_throughput --config configs/tiny.yaml --steps 3 data.batch_size=1
    python -m worldsim.bench.train_throughput --config configs/default.yaml --gpus 2 --out train_throughput_2gpu.json
    python -m worldsim.bench.train_throughput --config configs/memory.yaml --profile 3 --out profile.json

Times the optimizer step on synthetic clips: forward + backward of the diffusion-forcing loss, gradient
clipping, AdamW. Training FLOPs per frame are taken as 3x the model's analytic forward FLOPs
(worldsim.model.estimate_clip_flops_per_frame). Separately times the config's training data source
(data_frames_per_s over data_batches batches, after a warm-up; measure_data says how many) and names the
slower of the two as the bottleneck.

Under torchrun (WORLD_SIZE > 1) the model is wrapped in DistributedDataParallel and frames/s, data
frames/s and peak TFLOPs are totals over ranks; rank 0 prints and writes. --gpus N (N > 1) measures one
process here, then N processes under torchrun, and reports both with scaling_efficiency =
distributed frames/s / (N × single frames/s). This is weak scaling: every process keeps the per-GPU batch
data.batch_size, so the distributed global batch is N × data.batch_size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from worldsim.bench.train_scaling import combine, sum_over_ranks, torchrun_throughput
from worldsim.config import finite_float, load_config, to_dict
from worldsim.data.atomic import write_text_atomic
from worldsim.device import resolve_device
from worldsim.diffusion.rectified_flow import flow_matching_loss
from worldsim.model import WorldModel, count_parameters, estimate_clip_flops_per_frame
from worldsim.train.activation_checkpointing import enable_activation_checkpointing
from worldsim.train.clip_sources import make_clip_source
from worldsim.train.config import TrainConfig
from worldsim.train.distributed import ProcessInfo, init_processes, shutdown
from worldsim.train.setup import make_optimizer, resolve_precision

# Dense bf16 tensor-core peaks (vendor datasheets, SXM parts), used when --peak-tflops is not given.
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def peak_tflops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((value for key, value in PEAK_BF16_TFLOPS.items() if key in name), None)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_data(config: TrainConfig, device: torch.device, batches: int, rank: int = 0,
                 world_size: int = 1) -> tuple[float | None, int]:
    """Frames/s of the training data source (maze rollouts or dataset loader) and the batches timed;
    (None, 0) when batches is 0.

    A maze source renders data.maze_pool batches at once, and N maze workers N pools side by side: the
    timed batches are rounded up to whole rounds of P·N batches (N = 1 in the training process), after an
    untimed start (one whole pool in the training process; with workers, until every worker is ready)."""
    if batches <= 0:
        return None, 0
    data = config.data
    source = make_clip_source(data, device, config.seed, rank, world_size)
    try:
        if data.source == "maze":
            round_size = data.maze_pool * max(data.maze_workers, 1)
            batches = -(-batches // round_size) * round_size
            if data.maze_workers:
                source.start()
            else:
                for _ in range(data.maze_pool):
                    source.next_batch()
        else:
            source.next_batch()  # warm-up: allocations, loader workers starting
        _sync(device)
        start = time.perf_counter()
        for _ in range(batches):
            source.next_batch()
        _sync(device)
        return batches * data.batch_size * data.clip_length / (time.perf_counter() - start), batches
    finally:
        source.close()


def measure(config: TrainConfig, steps: int, warmup: int, data_batches: int = 3,
            info: ProcessInfo | None = None, profile_steps: int = 0) -> dict:
    info = info or ProcessInfo(0, 0, 1, resolve_device(config.device))
    device = info.device
    autocast_dtype = resolve_precision(config, device)
    torch.manual_seed(config.seed)
    model = WorldModel(config.model).to(device).train()
    if config.activation_checkpointing:
        enable_activation_checkpointing(model)
    trained: torch.nn.Module = model
    if info.distributed:
        trained = DistributedDataParallel(model, device_ids=[info.local_rank] if device.type == "cuda" else None)
    forward = torch.compile(trained) if config.compile else trained
    optimizer = make_optimizer(list(model.named_parameters()), config, fused=device.type == "cuda")
    batch, length = config.data.batch_size, config.data.clip_length
    m = config.model
    clean = torch.rand(batch, length, m.channels, m.image_height, m.image_width, device=device) * 2 - 1
    discrete = torch.randint(0, max(1, m.num_discrete_actions), (batch, length), device=device)
    continuous = torch.zeros(batch, length, m.num_continuous_actions, device=device)
    generator = torch.Generator(device).manual_seed(0)

    def step() -> None:
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            loss = flow_matching_loss(forward, clean, discrete if m.num_discrete_actions else None,
                                      continuous if m.num_continuous_actions else None, config.noise, generator)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.optim.grad_clip or float("inf"))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    times = []
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(steps):
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    peak_memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    profile = None
    if profile_steps > 0:
        from worldsim.bench.profile_summary import profile_steps as run_profile

        profile = run_profile(step, profile_steps, device.type)
    data_frames_per_s, data_batches_timed = measure_data(config, device, data_batches, info.rank, info.world_size)
    seconds = statistics.median(times)
    frames_per_s = batch * length / seconds
    train_flops_per_frame = 3 * estimate_clip_flops_per_frame(m)
    achieved_tflops = frames_per_s * train_flops_per_frame / 1e12
    peak = peak_tflops(device)
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({os.cpu_count()} cores)",
        "precision": str(autocast_dtype or torch.float32).replace("torch.", ""),
        "parameters": count_parameters(model),
        "batch_size": batch,
        "clip_length": length,
        "step_ms_median": 1000 * seconds,
        "frames_per_s": frames_per_s,
        "data_frames_per_s": data_frames_per_s,
        "data_batches": data_batches_timed,
        "maze_workers": config.data.maze_workers if config.data.source == "maze" else None,
        "bottleneck": None,
        "train_tflops_per_frame_estimate": train_flops_per_frame / 1e12,
        "achieved_tflops": achieved_tflops,
        "peak_tflops": peak,
        "mfu": achieved_tflops / peak if peak else None,
        "peak_memory_gib": peak_memory,
        "compile": config.compile,
        "activation_checkpointing": config.activation_checkpointing,
        "model": to_dict(m),
        "profile": profile,
    }
    if info.distributed:
        result = sum_over_ranks(result, info)
    if result["data_frames_per_s"] is not None:
        result["bottleneck"] = "data" if result["data_frames_per_s"] < result["frames_per_s"] else "model"
    return result


def _child_args(args: argparse.Namespace) -> list[str]:
    """The options of this run for the torchrun processes, less --gpus and --out."""
    child = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--data-batches", str(args.data_batches)]
    if args.config is not None:
        child += ["--config", str(args.config)]
    if args.peak_tflops:
        child += ["--peak-tflops", str(args.peak_tflops)]
    return child + args.overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=None, help="training YAML (default: built-in defaults)")
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps (median reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation, allocator)")
    parser.add_argument("--peak-tflops", type=finite_float, default=None,
                        help="device peak for MFU (default: known GPUs)")
    parser.add_argument("--data-batches", type=int, default=3,
                        help="timed data-source batches, rounded up to whole maze pools (0: skip)")
    parser.add_argument("--gpus", type=int, default=1, help="N > 1: also run N processes under torchrun")
    parser.add_argument("--profile", type=int, default=0, metavar="STEPS",
                        help="also profile this many steps: time shares of matmul, attention, scan, optimizer, "
                             "elementwise and idle, and the top kernels (worldsim.bench.profile_summary)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args(argv)
    config = load_config(TrainConfig, args.config, args.overrides)
    if args.gpus > 1 and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        parser.error("--gpus launches torchrun itself; run it as a plain process")
    info = init_processes(config.device)
    completed = False
    try:
        result = measure(config, args.steps, args.warmup, args.data_batches, info, args.profile)
        if args.peak_tflops:
            result["peak_tflops"] = args.peak_tflops * info.world_size
            result["mfu"] = result["achieved_tflops"] / result["peak_tflops"]
        if args.gpus > 1:
            result = combine(result, torchrun_throughput(args.gpus, _child_args(args)), args.gpus)
        completed = True
    finally:
        shutdown(info, completed)
    if not info.is_main:
        return 0
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        write_text_atomic(args.out, text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
