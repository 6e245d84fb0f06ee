"""The interface every world implements: the built-in maze, gymnasium adapters and the learned engine."""

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
