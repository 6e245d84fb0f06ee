"""Throughput of the memory-mapped clip loader: clips/s, frames/s and MB/s after a warm-up.

python -m worldsim.bench.loader --data DIR --clip-length 32 --batch 16 --workers 2 --out loader.json
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from worldsim.data.atomic import write_json_atomic
from worldsim.data.loader import make_clip_loader


def measure_loader(
    data: Path, clip_length: int, batch: int, workers: int, warmup: int, batches: int, seed: int
) -> dict[str, Any]:
    """Time `batches` batches after `warmup` batches (worker start-up and first page faults excluded)."""
    if warmup < 1 or batches < 1:
        raise ValueError(f"--warmup and --batches must be >= 1, got {warmup} and {batches}")
    loader = make_clip_loader(
        data, clip_length, batch, num_workers=workers, seed=seed, clips_per_epoch=(warmup + batches) * batch
    )
    iterator = iter(loader)
    for _ in range(warmup):
        next(iterator)
    byte_count = 0
    start = time.perf_counter()
    for _ in tqdm(range(batches), desc="loading clips", unit="batch"):
        clip = next(iterator)
        byte_count += sum(
            value.numel() * value.element_size() for value in clip.values() if torch.is_tensor(value)
        )
    seconds = time.perf_counter() - start
    clips = batches * batch
    dataset = loader.dataset
    return {
        "data": str(data),
        "episodes": len(dataset.info.names),
        "dataset_frames": dataset.info.total_frames,
        "resolution": [dataset.info.height, dataset.info.width],
        "clip_length": clip_length,
        "batch": batch,
        "workers": workers,
        "warmup_batches": warmup,
        "batches": batches,
        "seconds": seconds,
        "clips_per_s": clips / seconds,
        "frames_per_s": clips * clip_length / seconds,
        "mb_per_s": byte_count / seconds / 1e6,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "torch": torch.__version__,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m worldsim.bench.loader",
        description="Measure clip loading speed from a recorded dataset (page cache warm after the warm-up).",
    )
    parser.add_argument("--data", type=Path, required=True, help="dataset directory (worldsim record --out)")
    parser.add_argument("--clip-length", type=int, default=32, help="frames per clip (default: 32)")
    parser.add_argument("--batch", type=int, default=16, help="clips per batch (default: 16)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (default: 2)")
    parser.add_argument("--warmup", type=int, default=10, help="batches before timing starts (default: 10)")
    parser.add_argument("--batches", type=int, default=100, help="timed batches (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    args = parser.parse_args(argv)
    result = measure_loader(
        args.data, args.clip_length, args.batch, args.workers, args.warmup, args.batches, args.seed
    )
    print(
        f"{result['clips_per_s']:.1f} clips/s, {result['frames_per_s']:.0f} frames/s, "
        f"{result['mb_per_s']:.1f} MB/s ({args.workers} workers, batch {args.batch}, clip {args.clip_length})"
    )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.out, result)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError) as error:
        print(f"worldsim.bench.loader: error: {error}", file=sys.stderr)
        sys.exit(1)
