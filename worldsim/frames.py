"""Conversions between stored frames, uint8 (..., H, W, 3), and model frames, float (..., 3, H, W) in [-1, 1]."""

from __future__ import annotations

import torch
from torch import Tensor


def to_model(frames: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """uint8 (..., H, W, 3) -> float (..., 3, H, W) in [-1, 1]."""
    return frames.movedim(-1, -3).to(dtype).div(127.5).sub(1.0)


def to_uint8(frames: Tensor) -> Tensor:
    """float (..., 3, H, W) in [-1, 1] -> uint8 (..., H, W, 3), clamped."""
    return frames.float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8).movedim(-3, -1)
