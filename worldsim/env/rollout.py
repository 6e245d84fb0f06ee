"""Scripted maze trajectories as clips: reset a batch of mazes, drive them with a policy, stack the frames.

Seeds at or above HELD_OUT_SEED_BASE are held out: training never draws them (the trainer's maze source
keeps its seeds below), so validation and benchmarks on them measure unseen mazes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from worldsim.env.maze_world import MazeWorld

Batch = dict[str, Tensor]  # frames uint8 (B, T, H, W, 3), discrete int64 (B, T), continuous float32 (B, T, C)
HELD_OUT_SEED_BASE = 1_000_000


def held_out_seeds(count: int, offset: int = 0) -> list[int]:
    """Maze seeds no training clip uses: HELD_OUT_SEED_BASE + offset, + offset + 1, ..."""
    return [HELD_OUT_SEED_BASE + offset + i for i in range(count)]


def rollout_maze_clips(
    world: MazeWorld, seeds: list[int], clip_length: int, policy_name: str, policy_seed: int | list[int],
    detour_prob: float = 0.0, pause_prob: float = 0.0,
) -> Batch:
    """Reset `world` to `seeds`, drive it `clip_length − 1` steps with a scripted policy.

    actions[0] is the no-op (frame 0 comes from reset), following the dataset convention.
    """
    from worldsim.env.policies import make_policy

    policy = make_policy(policy_name, detour_prob, pause_prob=pause_prob)
    frames, _ = world.reset(seeds)
    policy.reset(world, policy_seed)
    return drive(world, frames, policy.act, clip_length - 1)


def drive(world: MazeWorld, first_frames: Tensor, act: Callable[[], tuple[Tensor, Tensor | None]], steps: int,
          track_pose: bool = False) -> Batch:
    """Stack `first_frames` (the current frames, no-op action) and `steps` more frames from `act() ->
    (discrete, continuous or None)`; with track_pose also "pose" float (B, T, 3), the pose of every frame."""
    space, batch, device = world.action_space, world.batch_size, world.device
    poses = [world.pose.clone()] if track_pose else []
    all_frames = [first_frames]
    discrete = [space.noop_batch(batch, device=device)[0]]
    continuous = [torch.zeros(batch, space.num_continuous, device=device)]  # (B, 0) without mouse-look
    for _ in range(steps):
        action_d, action_c = act()
        if action_c is None:
            action_c = torch.zeros(batch, space.num_continuous, device=device)
        frames, _ = world.step(action_d, action_c if space.num_continuous else None)
        all_frames.append(frames)
        discrete.append(torch.as_tensor(action_d, device=device).long())
        continuous.append(torch.as_tensor(action_c, device=device).float().reshape(batch, -1))
        if track_pose:
            poses.append(world.pose.clone())
    clips = {
        "frames": torch.stack(all_frames, 1),
        "discrete": torch.stack(discrete, 1),
        "continuous": torch.stack(continuous, 1),
    }
    if track_pose:
        clips["pose"] = torch.stack(poses, 1)
    return clips
