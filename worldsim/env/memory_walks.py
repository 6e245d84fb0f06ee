"""Maze trajectories that test (and teach) memory: retrace a walk exactly, turn on the spot past a full turn.

- Retrace (seed 1's retrieval protocol, made exact): walk out with invertible steps only (turns on the spot,
  straight moves), then play the inverse steps in reverse order. The return trip walks backwards through
  the same poses, so the frame j steps into the return shows the view of outbound frame N − j, last seen
  2j frames earlier: every frame of the way back was seen before, far outside an attention window.
- Rotation: turn right on the spot; after one full turn every view repeats the one a turn earlier.
- Turning (training clips): turn on the spot one way, with the keys or the mouse, drawn per clip.

`last_seen_gaps` finds, for every frame, how many frames ago its pose was last visited (-1: never).
"""

from __future__ import annotations

import math
import random

import numpy as np
import torch
from torch import Tensor

from worldsim.actions import MAZE_DISCRETE_ACTIONS
from worldsim.env.maze_world import MazeWorld
from worldsim.env.policies import ACTION, WanderPolicy
from worldsim.env.rollout import Batch, drive

INVERSE_ACTION = {
    "noop": "noop", "forward": "backward", "backward": "forward", "turn_left": "turn_right",
    "turn_right": "turn_left", "strafe_left": "strafe_right", "strafe_right": "strafe_left",
}
_INVERSE_INDEX = torch.tensor([
    MAZE_DISCRETE_ACTIONS.index(INVERSE_ACTION.get(name, name)) for name in MAZE_DISCRETE_ACTIONS
])
AIM_TOLERANCE = 0.02  # radians: a smaller heading error walks straight on


class InvertibleWanderPolicy(WanderPolicy):
    """Wander that only turns while standing still (no-op + yaw, or a discrete turn) and only moves straight,
    so that every step has an exact inverse (INVERSE_ACTION, negated yaw).

    key_turns: turns larger than one key step use the turn keys, the mouse only aims the rest. Training clips
    use it: with the mouse alone, most no-op actions of a retrace clip would turn the view, and a model
    trained on them drifts when a player stands still."""

    def __init__(self, key_turns: bool = False) -> None:
        super().__init__()
        self.key_turns = key_turns

    def _steer(self, b: int, pose: np.ndarray, target: tuple[int, int]) -> tuple[int, float]:
        dx, dy = target[1] + 0.5 - pose[0], target[0] + 0.5 - pose[1]
        error = math.remainder(math.atan2(dy, dx) - pose[2], math.tau)
        space = self._require_world().action_space
        if self.key_turns and abs(error) > self._require_world().config.turn_speed:
            return ACTION["turn_right" if error > 0 else "turn_left"], 0.0
        if space.num_continuous:
            if abs(error) > AIM_TOLERANCE:
                return ACTION["noop"], float(np.clip(error, -space.continuous_bound, space.continuous_bound))
        elif abs(error) > self._require_world().config.turn_speed / 2:
            return ACTION["turn_right" if error > 0 else "turn_left"], 0.0
        return ACTION["forward"], 0.0


def inverse_actions(discrete: Tensor, continuous: Tensor) -> tuple[Tensor, Tensor]:
    """discrete (B, T), continuous (B, T, C) of invertible steps -> the steps that undo them, last first."""
    combined = (discrete == ACTION["forward_left"]) | (discrete == ACTION["forward_right"])
    moving_turns = (continuous.abs().amax(-1) > 0) & (discrete != ACTION["noop"])
    if bool((combined | moving_turns).any()):
        raise ValueError("inverse_actions: a step turns while moving (it has no one-step inverse)")
    return _INVERSE_INDEX.to(discrete.device)[discrete].flip(1), -continuous.flip(1)


def retrace_clips(world: MazeWorld, seeds: list[int], outbound: int, back: int, policy_seed: int | list[int],
                  key_turns: bool = False) -> Batch:
    """Frames 0..outbound walk out (frame 0 from reset), frames outbound+1 .. outbound+back walk back;
    also "pose" float (B, T, 3). Needs back <= outbound. key_turns: see InvertibleWanderPolicy."""
    if not 1 <= back <= outbound:
        raise ValueError(f"retrace: the way back ({back} frames) must be 1..{outbound} (the way out)")
    policy = InvertibleWanderPolicy(key_turns)
    first, _ = world.reset(seeds)
    policy.reset(world, policy_seed)
    out = drive(world, first, policy.act, outbound, track_pose=True)
    undo_discrete, undo_continuous = inverse_actions(out["discrete"][:, 1:], out["continuous"][:, 1:])
    undo = iter(zip(undo_discrete.unbind(1), undo_continuous.unbind(1)))
    back_clips = drive(world, out["frames"][:, -1], lambda: next(undo), back, track_pose=True)
    return {key: torch.cat([out[key], back_clips[key][:, 1:]], dim=1) for key in out}


def turning_clips(world: MazeWorld, seeds: list[int], length: int, policy_seeds: list[int]) -> Batch:
    """`length` frames turning on the spot from each maze's start pose, one way per clip: left or right, with
    the turn keys or (with mouse look) the mouse at full speed, drawn from the clip's policy seed. Every view
    comes back one turn (26-32 frames) later, beyond the attention window: each new frame shows a strip that
    only the state can still hold, which is what a player turning around needs from the model."""
    first, _ = world.reset(seeds)
    device, mouse_look = world.device, world.action_space.num_continuous > 0
    draws = [random.Random(seed) for seed in policy_seeds]
    left = torch.tensor([draw.random() < 0.5 for draw in draws], device=device)
    mouse = torch.tensor([mouse_look and draw.random() < 0.5 for draw in draws], device=device)
    keys = torch.where(left, ACTION["turn_left"], ACTION["turn_right"])
    discrete = torch.where(mouse, ACTION["noop"], keys)
    bound = world.action_space.continuous_bound if mouse_look else 0.0
    yaw = (torch.where(left, -bound, bound) * mouse)[:, None].float()  # (B, 1): positive turns right
    return drive(world, first, lambda: (discrete, yaw if mouse_look else None), length - 1)


def rotation_clips(world: MazeWorld, seeds: list[int], length: int) -> Batch:
    """`length` frames turning right on the spot from each maze's start pose; also "pose" (B, T, 3).

    With mouse look the turn is the continuous yaw step that closes a full turn exactly (views repeat
    exactly one turn later); otherwise the discrete turn_right."""
    first, _ = world.reset(seeds)
    batch, device = world.batch_size, world.device
    if world.action_space.num_continuous:
        noop = torch.full((batch,), ACTION["noop"], dtype=torch.long, device=device)
        yaw = torch.full((batch, 1), math.tau / steps_per_turn(world), device=device)
        return drive(world, first, lambda: (noop, yaw), length - 1, track_pose=True)
    turn = torch.full((batch,), ACTION["turn_right"], dtype=torch.long, device=device)
    return drive(world, first, lambda: (turn, None), length - 1, track_pose=True)


def steps_per_turn(world: MazeWorld) -> int:
    """Frames of turning on the spot (rotation_clips) that complete one full turn."""
    step = world.action_space.continuous_bound if world.action_space.num_continuous else world.config.turn_speed
    return math.ceil(math.tau / step)


def last_seen_gaps(poses: Tensor, position_tolerance: float = 0.05, yaw_tolerance: float = 0.05) -> Tensor:
    """poses (B, T, 3) -> int64 (B, T): frames since the same pose (within tolerances) was last seen, -1: never."""
    xy, yaw = poses[..., :2].float(), poses[..., 2].float()
    near = torch.cdist(xy, xy) < position_tolerance  # (B, T, T)
    turn = torch.remainder(yaw[:, :, None] - yaw[:, None, :] + math.pi, math.tau) - math.pi
    same = near & (turn.abs() < yaw_tolerance)
    length = poses.shape[1]
    earlier = torch.ones(length, length, dtype=torch.bool, device=poses.device).tril(-1)  # [i, j]: j < i
    index = torch.arange(length, device=poses.device)
    last = torch.where(same & earlier, index[None, None, :], torch.full_like(index, -1)[None, None, :]).amax(-1)
    return torch.where(last >= 0, index[None, :] - last, torch.full_like(last, -1))
