"""The interface every world implements (the built-in maze, gymnasium adapters, the learned engine) and the
one every policy that drives a world implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from torch import Tensor

from worldsim.actions import ActionSpace


@runtime_checkable
class World(Protocol):
    """A batch of `batch_size` worlds stepped in lock-step.

    Frames are uint8 tensors (B, H, W, 3). `info` holds at least "step" (int); worlds may add more
    (the maze adds "pose" (B, 3) = x, y, yaw).
    """

    action_space: ActionSpace
    batch_size: int

    def reset(self, seed: int | Sequence[int] | None = None) -> tuple[Tensor, dict[str, Any]]: ...

    def step(
        self, discrete: Tensor | None, continuous: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Any]]: ...


class Policy(Protocol):
    """What drives a world without a player: the exploration policies (worldsim.env.policies), an action
    file replayed, a driver that walks a ground-truth maze. `reset(world, seed)` after `world.reset`, then
    `act()` once per step -> (discrete int64 (B,), continuous float (B, C)), None for the no-op."""

    def reset(self, world: World, seed: int) -> None: ...

    def act(self) -> tuple[Tensor | None, Tensor | None]: ...
