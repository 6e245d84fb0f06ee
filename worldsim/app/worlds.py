"""Choosing what to play: the checkpoint (the shipped default when none is named), a model beside the maze.

Ground-truth worlds ("maze", "gym:<id>") come from `worldsim.env.make_world`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from worldsim.paths import CPU_CHECKPOINT, DEFAULT_CHECKPOINT, shown
from worldsim.world import World


def resolve_checkpoint(
    checkpoint: str | None, world_id: str | None, device: str = "auto"
) -> tuple[Path | None, str | None]:
    """(checkpoint to play, note for the user). No choice: the shipped checkpoint (found beside the package,
    whatever the current folder) -- the small CPU one when `device` is a CPU and it ships, else the
    default -- else the maze; the note says which was chosen."""
    if checkpoint is not None:
        return Path(checkpoint), None
    if world_id is not None:
        return None, None
    if CPU_CHECKPOINT.is_file() and DEFAULT_CHECKPOINT.is_file() and _plays_on_cpu(device):
        return CPU_CHECKPOINT, (
            f"playing {shown(CPU_CHECKPOINT)} (the shipped model sized for CPUs: no CUDA GPU here; "
            f"--checkpoint {shown(DEFAULT_CHECKPOINT)} plays the bigger one, slower)"
        )
    if DEFAULT_CHECKPOINT.is_file():
        return DEFAULT_CHECKPOINT, (
            f"playing {shown(DEFAULT_CHECKPOINT)} (the shipped model; --checkpoint PATH plays another, "
            "--world maze the ground truth)"
        )
    return None, (
        f"note: no trained model at {shown(DEFAULT_CHECKPOINT)}; playing the built-in maze (ground truth). "
        "Train one with `worldsim train` or pass --checkpoint PATH."
    )


def _plays_on_cpu(device: str) -> bool:
    if device == "auto":
        return not torch.cuda.is_available()
    try:
        return torch.device(device).type == "cpu"
    except (RuntimeError, TypeError):
        return False  # not a device: the engine's resolve_device names the bad value


class SideBySideWorld:
    """Two worlds with the same action space, stepped with the same actions; frames side by side
    (B, H, W_left + W_right, 3). The engine's steps and HUD figures show through."""

    def __init__(self, left: World, right: World) -> None:
        if left.action_space != right.action_space:
            raise ValueError(
                f"side by side: the worlds' action spaces differ ({left.action_space} vs {right.action_space})"
            )
        if left.batch_size != right.batch_size:
            raise ValueError(f"side by side: batch sizes differ ({left.batch_size} vs {right.batch_size})")
        self.left, self.right = left, right
        self.action_space = left.action_space
        self.batch_size = left.batch_size

    @property
    def steps(self) -> int:
        return self.right.steps

    @steps.setter
    def steps(self, value: int) -> None:
        self.right.steps = value

    def reset(self, seed: Any = None) -> tuple[Tensor, dict[str, Any]]:
        left, left_info = self.left.reset(seed)
        right, right_info = self.right.reset(seed)
        return self._join(left, right), {"step": 0, "left": left_info, "right": right_info}

    def step(self, discrete: Tensor | None, continuous: Tensor | None = None) -> tuple[Tensor, dict[str, Any]]:
        left, left_info = self.left.step(discrete, continuous)
        right, right_info = self.right.step(discrete, continuous)
        return self._join(left, right), {"step": left_info["step"], "left": left_info, "right": right_info}

    def hud_info(self) -> dict[str, str]:
        info = getattr(self.right, "hud_info", None)
        return {"left": "truth", "right": "model", **(info() if callable(info) else {})}

    def episode_frame(self, joined: np.ndarray) -> np.ndarray:
        """The left world's part of a joined frame (H, W_left + W_right, 3): what a recording keeps as the
        episode, so the dataset holds the world's frames, not the picture of two."""
        return joined[:, : self.left_width]

    def _join(self, left: Tensor, right: Tensor) -> Tensor:
        if left.shape[1] != right.shape[1]:
            raise ValueError(f"side by side: frame heights differ ({left.shape[1]} vs {right.shape[1]})")
        self.left_width = left.shape[2]
        return torch.cat([left.cpu(), right.cpu()], dim=2)
