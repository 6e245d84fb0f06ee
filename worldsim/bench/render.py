"""Built-in maze rendering speed: one world on one CPU thread, and batches on the chosen device.

    python -m worldsim.bench.render --device cpu --batches 1 64 256      # prints the results
    worldsim bench render --device cuda --out out/render_gpu.json        # and writes them as JSON

Each measurement steps the worlds (physics + raycast, the full `MazeWorld.step`) with a fixed action
pattern after a warm-up, under torch.inference_mode; frames/s = worlds × steps / seconds.
Targets (docs/world.md): ≥ 1,000 frames/s one world on one CPU core, ≥ 100,000 frames/s
batched on one GPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from worldsim.config import finite_float
from worldsim.cpu_threads import apply_threads
from worldsim.data.atomic import write_json_atomic
from worldsim.device import resolve_device
from worldsim.env.maze_world import MazeConfig, MazeWorld

TARGET_SINGLE_CPU_FPS = 1_000
TARGET_BATCHED_GPU_FPS = 100_000
DEFAULT_BATCHES = (1, 64, 1024, 8192)
# forward, turn_right, forward_left, strafe_left, forward, forward_right, backward, turn_left: moves,
# turns and collisions, so the timing is not of one cached view.
ACTION_PATTERN = (1, 4, 7, 5, 1, 8, 2, 3)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_fps(
    batch_size: int, device: torch.device, size: int, warmup_steps: int, min_seconds: float, seed: int = 0
) -> dict[str, Any]:
    """frames/s of `batch_size` worlds stepped in lock-step for at least `min_seconds` after warm-up."""
    world = MazeWorld(MazeConfig(height=size, width=size), batch_size=batch_size, device=device)
    world.reset(seed)
    pattern = torch.tensor(ACTION_PATTERN, device=device)
    actions = [pattern[i].expand(batch_size).contiguous() for i in range(len(ACTION_PATTERN))]
    yaw = torch.full((batch_size, 1), 0.05, device=device)
    with torch.inference_mode():
        for step in range(warmup_steps):
            world.step(actions[step % len(actions)], yaw)
        _synchronize(device)
        steps, start = 0, time.perf_counter()
        while True:
            world.step(actions[steps % len(actions)], yaw)
            steps += 1
            if steps % 8 == 0:
                _synchronize(device)
                if time.perf_counter() - start >= min_seconds:
                    break
        seconds = time.perf_counter() - start
    return {
        "batch_size": batch_size,
        "steps": steps,
        "seconds": seconds,
        "frames_per_s": batch_size * steps / seconds,
        "ms_per_step": 1000.0 * seconds / steps,
    }


def machine_info(device: torch.device) -> dict[str, Any]:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or "cpu")
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "device": str(device),
        "device_name": name,
    }


def run_benchmark(
    device: torch.device, batches: list[int], size: int, warmup_steps: int, min_seconds: float,
    progress: bool = False,
) -> dict[str, Any]:
    threads = torch.get_num_threads()
    # one bar over the measurements, each at least min_seconds: the first is one world on one thread
    bar = tqdm(total=1 + len(batches), desc="render", unit="run", disable=not progress, dynamic_ncols=True)
    torch.set_num_threads(1)  # the single-world target is per CPU core
    try:
        bar.set_postfix_str("one world, one thread")
        single = measure_fps(1, torch.device("cpu"), size, warmup_steps, min_seconds)
        bar.update(1)
    finally:
        torch.set_num_threads(threads)
    batched = []
    for batch in batches:
        bar.set_postfix_str(f"batch {batch} on {device}")
        batched.append(measure_fps(batch, device, size, warmup_steps, min_seconds))
        bar.update(1)
    bar.close()
    best = max((entry["frames_per_s"] for entry in batched), default=0.0)
    return {
        "benchmark": "render",
        "machine": machine_info(device),
        "frame_size": [size, size],
        "single_world_one_cpu_thread": single,
        "batched": batched,
        "torch_threads_batched": threads if device.type == "cpu" else None,
        "targets": {
            "single_world_one_cpu_core_fps": TARGET_SINGLE_CPU_FPS,
            "batched_one_gpu_fps": TARGET_BATCHED_GPU_FPS,
        },
        "meets_single_target": single["frames_per_s"] >= TARGET_SINGLE_CPU_FPS,
        "meets_batched_target": best >= TARGET_BATCHED_GPU_FPS if device.type == "cuda" else None,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="worldsim bench render", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu", help="device of the batched runs: cpu, cuda or auto")
    parser.add_argument("--out", type=Path, metavar="FILE.json", help="also write the results here as JSON")
    parser.add_argument(
        "--batches", type=int, nargs="+", default=list(DEFAULT_BATCHES), help="batch sizes (default: %(default)s)"
    )
    parser.add_argument("--size", type=int, default=64, help="frame height and width in pixels (default: 64)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps before each measurement")
    parser.add_argument("--seconds", type=finite_float, default=2.0, help="minimum timed seconds per measurement")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="torch CPU threads for the batched runs (default: measured, worldsim.cpu_threads)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        args.device = resolve_device(args.device)
    except ValueError as error:
        parser.error(f"--device: {error}")
    if any(batch < 1 for batch in args.batches):
        parser.error(f"--batches must all be >= 1, got {args.batches}")
    if args.seconds <= 0 or args.warmup < 0:
        parser.error(f"--seconds must be > 0 and --warmup >= 0, got {args.seconds} and {args.warmup}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    apply_threads(args.threads)
    result = run_benchmark(args.device, args.batches, args.size, args.warmup, args.seconds,
                           progress=not args.no_progress)
    single = result["single_world_one_cpu_thread"]["frames_per_s"]
    print(f"one world, one CPU thread: {single:,.0f} frames/s (target {TARGET_SINGLE_CPU_FPS:,})")
    for entry in result["batched"]:
        print(f"batch {entry['batch_size']:>6} on {args.device}: {entry['frames_per_s']:,.0f} frames/s")
    if args.out is not None:
        write_json_atomic(args.out, result)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
