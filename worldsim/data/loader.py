"""The trainer's entry point into a recorded dataset: a DataLoader of random clips (see clips.py)."""

from __future__ import annotations

import math
from pathlib import Path

from torch.utils.data import DataLoader

from worldsim.data.clips import ClipDataset, UniformClipSampler


def make_clip_loader(
    dataset_dir: Path | str,
    clip_length: int,
    batch_size: int,
    num_workers: int = 0,
    seed: int = 0,
    clips_per_epoch: int | None = None,
    pin_memory: bool = False,
    rank: int = 0,
    world_size: int = 1,
    holdout_every: int = 0,
) -> DataLoader:
    """Batches {"frames": uint8 (B, T, H, W, 3), "discrete": int64 (B, T), "continuous": float32 (B, T, C),
    "episode": list[str], "start": int64 (B,)} of clips drawn uniformly over all valid start positions.

    One pass yields `clips_per_epoch` clips (default: as many as fit without overlap in the dataset's
    usable frames), rounded up to whole batches; the order depends only on `seed`. Under `world_size`
    processes of `batch_size` each, the order is that of one process with batch batch_size·world_size and
    this `rank` yields rows [rank·batch_size, (rank+1)·batch_size) of each such batch. Episodes held out
    by `holdout_every` (worldsim.data.holdout) are left out.
    """
    if batch_size < 1 or num_workers < 0:
        raise ValueError(f"batch_size must be >= 1 and num_workers >= 0, got {batch_size} and {num_workers}")
    dataset = ClipDataset(dataset_dir, clip_length, holdout_every)
    if clips_per_epoch is None:
        clips_per_epoch = max(1, (len(dataset) + clip_length - 1) // clip_length)
    global_batch = batch_size * world_size
    num_samples = math.ceil(clips_per_epoch / global_batch) * global_batch
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=UniformClipSampler(len(dataset), num_samples, seed, rank, world_size, batch_size),
        num_workers=num_workers,
        pin_memory=pin_memory,
        drop_last=True,
        persistent_workers=False,
    )
