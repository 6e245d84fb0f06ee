"""Which clips the trainer's maze source renders together (a pool), and rendering one.

A process (rank r of world size N, per-rank batch b, data.maze_pool P) takes its batches in pools: pool i
holds batches i·P .. i·P + P − 1, rendered as one world batch of P·b mazes (the per-step cost of the
policies and the raycaster is shared). Row j of batch k is global sample k·N·b + r·b + j (clip_sources);
its maze seed and policy seed come from (seed, global sample) alone, and the policy driving the pool
(retrace, rotation, revisit or wander) from (seed, i). So a pool is a pure function of its index: the in-process
source and the worker processes (maze_workers) render the same pools, in any order, on any device.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.env.memory_walks import retrace_clips, turning_clips
from worldsim.env.rollout import HELD_OUT_SEED_BASE, Batch, rollout_maze_clips

if TYPE_CHECKING:  # not imported at run time: a worker process then needs only torch and worldsim.env
    from worldsim.train.config import DataConfig


@dataclass(frozen=True)
class MazePools:
    """The pools of one process's training clips (picklable: worker processes get a copy); the data.* keys
    that shape them are copied from DataConfig (`of`)."""

    maze: MazeConfig
    batch_size: int
    maze_pool: int
    retrace_fraction: float
    revisit_fraction: float
    detour_prob: float
    seed: int
    clip_length: int
    rank: int = 0
    world_size: int = 1
    rotation_fraction: float = 0.0
    pause_prob: float = 0.0

    @classmethod
    def of(cls, data: DataConfig, seed: int, clip_length: int, rank: int = 0, world_size: int = 1) -> MazePools:
        return cls(data.maze, data.batch_size, data.maze_pool, data.retrace_fraction, data.revisit_fraction,
                   data.detour_prob, seed, clip_length, rank, world_size, data.rotation_fraction, data.pause_prob)

    @property
    def world_batch(self) -> int:
        """Mazes per pool: P·b."""
        return self.maze_pool * self.batch_size

    def make_world(self, device: torch.device | str) -> MazeWorld:
        return MazeWorld(self.maze, self.world_batch, device)

    def samples(self, index: int) -> list[int]:
        """Global sample indices of pool `index`'s rows, in order."""
        batch, pool_size = self.batch_size, self.maze_pool
        indices: list[int] = []
        for position in range(index * pool_size, (index + 1) * pool_size):
            first = position * self.world_size * batch + self.rank * batch  # global index of the batch's row 0
            indices += range(first, first + batch)
        return indices

    def maze_seeds(self, index: int) -> list[int]:
        """Training maze seeds, all below HELD_OUT_SEED_BASE: validation's held-out mazes never appear."""
        return [(self.seed * 1_000_003 + g) % HELD_OUT_SEED_BASE for g in self.samples(index)]

    def policy(self, index: int) -> str:
        """Drawn per pool, identically on every rank (the policy object is shared by the world batch)."""
        draw = random.Random(f"{self.seed}/{index}").random()
        retrace, rotation = self.retrace_fraction, self.rotation_fraction
        if draw < retrace:
            return "retrace"
        if draw < retrace + rotation:
            return "rotation"
        rest = 1.0 - retrace - rotation
        return "revisit" if draw < retrace + rotation + rest * self.revisit_fraction else "wander"

    def render(self, world: MazeWorld, index: int) -> Batch:
        """Pool `index` on `world` (made by make_world): frames uint8 (P·b, T, H, W, 3), discrete int64 (P·b, T),
        continuous float32 (P·b, T, C); batch k of the pool is rows k·b .. k·b + b − 1 (`batch`)."""
        samples = self.samples(index)
        seeds = self.maze_seeds(index)
        policy_seeds = [random.Random(f"{self.seed}/clip/{g}").randrange(2**31) for g in samples]
        policy = self.policy(index)
        if policy == "retrace":
            back = (self.clip_length - 1) // 2
            clips = retrace_clips(world, seeds, self.clip_length - 1 - back, back, policy_seeds, key_turns=True)
            clips.pop("pose")
            return clips
        if policy == "rotation":
            return turning_clips(world, seeds, self.clip_length, policy_seeds)
        return rollout_maze_clips(world, seeds, self.clip_length, policy, policy_seeds, self.detour_prob,
                                  self.pause_prob)

    def batch(self, pool: Batch, offset: int) -> Batch:
        """Batch `offset` (0 .. P − 1) of a rendered pool: views, no copy."""
        size = self.batch_size
        return {key: value[offset * size: (offset + 1) * size] for key, value in pool.items()}
