"""Training throughput of a config on this device: frames/s and model FLOPs utilisation (MFU), as JSON.

    python -m worldsim.bench.train_throughput --config configs/default.yaml --out train_throughput.json
    python -m worldsim.bench.train_throughput --config configs/tiny.yaml --steps 3 data.batch_size=1

Times the optimizer step on synthetic clips (the data source is benchmarked by the env package):
forward + backward of the diffusion-forcing loss, gradient clipping, AdamW. Training FLOPs per frame are
taken as 3x the model's analytic forward FLOPs (worldsim.model.estimate_step_flops).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

from worldsim.config import load_config, to_dict
from worldsim.diffusion.rectified_flow import flow_matching_loss
from worldsim.model import WorldModel, count_parameters, estimate_step_flops
from worldsim.train.activation_checkpointing import enable_activation_checkpointing
from worldsim.train.config import TrainConfig
from worldsim.train.distributed import resolve_device
from worldsim.train.setup import make_optimizer, resolve_precision

# Dense bf16 tensor-core peaks (vendor datasheets, SXM parts), used when --peak-tflops is not given.
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def peak_tflops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((value for key, value in PEAK_BF16_TFLOPS.items() if key in name), None)


def measure(config: TrainConfig, steps: int, warmup: int) -> dict:
    device = resolve_device(config.device)
    autocast_dtype = resolve_precision(config, device)
    torch.manual_seed(config.seed)
    model = WorldModel(config.model).to(device).train()
    if config.activation_checkpointing:
        enable_activation_checkpointing(model)
    forward = torch.compile(model) if config.compile else model
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
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(steps):
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    frames_per_s = batch * length / seconds
    train_flops_per_frame = 3 * estimate_step_flops(m)
    achieved_tflops = frames_per_s * train_flops_per_frame / 1e12
    peak = peak_tflops(device)
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({os.cpu_count()} cores)",
        "precision": str(autocast_dtype or torch.float32).replace("torch.", ""),
        "parameters": count_parameters(model),
        "batch_size": batch,
        "clip_length": length,
        "step_ms_median": 1000 * seconds,
        "frames_per_s": frames_per_s,
        "train_tflops_per_frame_estimate": train_flops_per_frame / 1e12,
        "achieved_tflops": achieved_tflops,
        "peak_tflops": peak,
        "mfu": achieved_tflops / peak if peak else None,
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None,
        "compile": config.compile,
        "activation_checkpointing": config.activation_checkpointing,
        "model": to_dict(m),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=None, help="training YAML (default: built-in defaults)")
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps (median reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation, allocator)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak for MFU (default: known GPUs)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args(argv)
    config = load_config(TrainConfig, args.config, args.overrides)
    result = measure(config, args.steps, args.warmup)
    if args.peak_tflops:
        result["peak_tflops"] = args.peak_tflops
        result["mfu"] = result["achieved_tflops"] / args.peak_tflops
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        tmp = args.out.with_name(f".{args.out.name}.tmp-{os.getpid()}")
        tmp.write_text(text + "\n")
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
