"""Headless recording: a scripted policy drives `world.batch_size` worlds in lock-step; each finished
episode is published atomically (see writer.py), so an interrupted run keeps every episode it finished."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor
from tqdm import tqdm

from worldsim.data.dataset import check_can_append
from worldsim.data.episode import SIGNAL_DTYPES
from worldsim.data.writer import EpisodeWriter
from worldsim.world import Policy, World


def record_policy_episodes(
    world: World,
    policy: Policy,
    out_dir: Path | str,
    episodes: int,
    steps: int,
    seed: int,
    fps: float = 15.0,
    source: dict[str, Any] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Record `episodes` episodes of at most `steps` frames each into the dataset `out_dir`.

    Episodes run in rounds of B = world.batch_size; episode i is reset with seed `seed + i` (the policy
    gets `seed + first episode of the round`). An episode ends early when info["done"] is true for its
    world (gymnasium). Returns the published episode directories in order of completion.
    """
    if episodes < 1 or steps < 1:
        raise ValueError(f"episodes and steps must be >= 1, got episodes={episodes}, steps={steps}")
    out_dir = Path(out_dir)
    batch = world.batch_size
    source = {"policy": getattr(policy, "name", type(policy).__name__), **(source or {})}
    published: list[Path] = []
    with tqdm(
        total=episodes * steps, desc=f"recording {out_dir.name}", unit="frame", disable=not progress
    ) as bar:
        for first in range(0, episodes, batch):
            count = min(batch, episodes - first)
            seeds = [seed + first + b for b in range(batch)]
            published += _record_round(world, policy, out_dir, seeds, count, steps, fps, source, bar)
    return published


def _record_round(
    world: World,
    policy: Policy,
    out_dir: Path,
    seeds: list[int],
    count: int,
    steps: int,
    fps: float,
    source: dict[str, Any],
    bar: tqdm,
) -> list[Path]:
    """One round: reset all B worlds, keep the first `count`, step until `steps` frames or done."""
    space = world.action_space
    frames, info = world.reset(seeds)
    batch_frames = _numpy(frames)  # uint8 (B, H, W, 3)
    check_can_append(out_dir, space, batch_frames.shape[1], batch_frames.shape[2])
    policy.reset(world, seeds[0])
    noop_discrete, noop_continuous = (x if x is None else x.numpy() for x in space.noop_batch(world.batch_size))
    discrete, continuous = noop_discrete, noop_continuous
    writers: list[EpisodeWriter | None] = []
    published: list[Path] = []
    try:
        for b in range(count):
            writers.append(EpisodeWriter(out_dir, space, fps, {**source, "seed": seeds[b]}))
        for step in range(steps):
            if step > 0:
                discrete_action, continuous_action = policy.act()
                frames, info = world.step(discrete_action, continuous_action)
                batch_frames = _numpy(frames)
                discrete = noop_discrete if discrete_action is None else _numpy(discrete_action)
                continuous = noop_continuous if continuous_action is None else _numpy(continuous_action)
            extras = step_extras(info, world.batch_size)
            done = _done_flags(info, world.batch_size) | (step == steps - 1)
            for b, writer in enumerate(writers):
                if writer is None:
                    continue
                writer.add(
                    batch_frames[b],
                    None if discrete is None else int(discrete[b]),
                    None if continuous is None else continuous[b],
                    {name: value[b] for name, value in extras.items()},
                )
                bar.update(1)
                if done[b]:
                    published.append(writer.close())
                    writers[b] = None
            if all(writer is None for writer in writers):
                break
    finally:
        for writer in writers:
            if writer is not None:
                writer.discard()  # interrupted mid-episode: nothing half-written becomes visible
    return published


def _numpy(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, Tensor) else np.asarray(value)


def step_extras(info: dict[str, Any], batch: int) -> dict[str, np.ndarray]:
    """The per-step arrays worth keeping from `info`, one row per world: pose float32 (B, 3) (the maze),
    reward float32 (B,), terminated / truncated bool (B,) (games; docs/dataset-format.md)."""
    extras = {"pose": _numpy(info["pose"]).astype(np.float32)} if "pose" in info else {}
    for name, dtype in SIGNAL_DTYPES.items():
        if name in info:
            extras[name] = np.broadcast_to(np.asarray(_numpy(info[name]), dtype=dtype).reshape(-1), (batch,))
    return extras


def _done_flags(info: dict[str, Any], batch: int) -> np.ndarray:
    """bool (B,) from info["done"] (a bool, or one flag per world); all False when absent."""
    done = np.asarray(_numpy(info.get("done", False)), dtype=bool).reshape(-1)
    if done.size not in (1, batch):
        raise ValueError(f'info["done"] has {done.size} flags for a batch of {batch} worlds')
    return np.broadcast_to(done, (batch,)).copy()
