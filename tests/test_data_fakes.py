"""A tiny synthetic World and policy for the data tests (no maze needed), plus their own sanity tests."""

from __future__ import annotations

import numpy as np
import torch

from worldsim.actions import ActionSpace
from worldsim.world import World

FAKE_SPACE = ActionSpace(discrete=("noop", "left", "right"), continuous=("dx",), continuous_bound=0.5)


class FakeWorld:
    """Frame of world b at step t is filled with (seed_b * 7 + t * 3) % 256, plus a marker pixel
    holding the last discrete action, so tests can recompute every frame from seed and step."""

    def __init__(
        self,
        batch_size: int = 2,
        height: int = 8,
        width: int = 6,
        space: ActionSpace = FAKE_SPACE,
        interrupt_at_call: int | None = None,
        done_at_step: int | None = None,
    ) -> None:
        self.action_space = space
        self.batch_size = batch_size
        self.height, self.width = height, width
        self.interrupt_at_call = (
            interrupt_at_call  # raise KeyboardInterrupt on this step() call (counted overall)
        )
        self.done_at_step = done_at_step  # report info["done"] from this step on (gymnasium-like)
        self.calls = 0
        self.seeds = [0] * batch_size
        self.step_count = 0

    def _frames(self, last_discrete: np.ndarray) -> torch.Tensor:
        values = (np.asarray(self.seeds) * 7 + self.step_count * 3) % 256
        frames = np.broadcast_to(
            values[:, None, None, None], (self.batch_size, self.height, self.width, 3)
        ).copy()
        frames[:, 0, 0, 0] = last_discrete
        return torch.from_numpy(frames.astype(np.uint8))

    def _info(self) -> dict:
        pose = torch.tensor([[float(s), float(self.step_count), 0.0] for s in self.seeds])
        info = {"step": self.step_count, "pose": pose}
        if self.done_at_step is not None:
            info["done"] = self.step_count >= self.done_at_step
        return info

    def reset(self, seed=None):
        seeds = [seed + i for i in range(self.batch_size)] if isinstance(seed, int) else list(seed)
        self.seeds, self.step_count = seeds, 0
        return self._frames(np.zeros(self.batch_size, np.int64)), self._info()

    def step(self, discrete, continuous=None):
        self.calls += 1
        if self.interrupt_at_call is not None and self.calls >= self.interrupt_at_call:
            raise KeyboardInterrupt
        self.step_count += 1
        return self._frames(discrete.numpy()), self._info()


class FakePolicy:
    """Action of world b at step t depends only on that world's seed and t (so batching does not matter)."""

    name = "fake"

    def reset(self, world, seed: int) -> None:
        self.world, self.seeds, self.t = world, [seed + b for b in range(world.batch_size)], 0

    def act(self):
        self.t += 1
        seeds = torch.tensor(self.seeds)
        discrete = (seeds + self.t) % self.world.action_space.num_discrete
        continuous = ((seeds + self.t) % 5 - 2).float().unsqueeze(1) * 0.2
        return discrete.long(), continuous


def test_fake_world_implements_the_world_protocol() -> None:
    world = FakeWorld(batch_size=3)
    assert isinstance(world, World)
    frames, info = world.reset(10)
    assert frames.shape == (3, 8, 6, 3) and frames.dtype == torch.uint8
    assert int(frames[2, 1, 1, 0]) == (12 * 7) % 256
    frames, info = world.step(torch.tensor([1, 2, 0]))
    assert int(frames[1, 0, 0, 0]) == 2 and info["step"] == 1
