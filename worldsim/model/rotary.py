"""Rotary embeddings (RoPE) of frame indices: the (cos, sin) of a frame's angles and the rotation of queries
and keys by them, plus the table of frames 0 .. L-1 that a clip's forward slices instead of recomputing.

Without the table, torch.compile fused the angles into the rotation itself: every query and key element
recomputed its own pow, cos and sin, two of a training step's heaviest elementwise kernels (5.6 ms forward
+ 5.0 ms backward of a 244 ms step of configs/memory.yaml, 8 x 256 frames on one H200;
benchmarks/results/profile_memory_h200.json).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

DEFAULT_TABLE_FRAMES = 4096  # frames covered from the start (196 KB at head size 48); longer clips grow it


def frame_rotation(positions: Tensor, dim: int, base: float = 10000.0) -> tuple[Tensor, Tensor]:
    """Frame indices (B, T) long -> RoPE (cos, sin), each (B, T, 1, 1, dim/2) fp32; computed once for the
    queries and the keys (at one frame per call its 8 small kernels are as many as the rotation's own)."""
    half = dim // 2
    inv_freq = base ** (-torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    angles = positions.to(torch.float32)[..., None] * inv_freq  # (B, T, d/2)
    return angles.cos()[:, :, None, None], angles.sin()[:, :, None, None]


def rotate(x: Tensor, rotation: tuple[Tensor, Tensor]) -> Tensor:
    """x (B, T, N, heads, d) rotated by frame_rotation's (cos, sin) (B or 1, T, 1, 1, d/2); computed in fp32."""
    cos, sin = rotation
    half = x.shape[-1] // 2
    x = x.float()
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class FrameRotationTable(nn.Module):
    """frame_rotation of frames 0 .. L-1, computed once on the module's device; `table(frames)` slices it.

    The tables are plain attributes, not buffers: they stay out of state_dict (checkpoints unchanged), are not
    cast by .half() or .to(dtype) (always fp32, the precision frame_rotation computes in), not broadcast by
    DistributedDataParallel and not copied by the EMA at every step. `.to(device)` and friends recompute
    them on the new device (`_apply`), so a compiled forward finds them there and only reads them."""

    def __init__(self, dim: int, frames: int = DEFAULT_TABLE_FRAMES):
        super().__init__()
        self.dim = dim
        self._fill(frames, torch.device("cpu"))

    def _fill(self, frames: int, device: torch.device) -> None:
        self.cos, self.sin = frame_rotation(torch.arange(frames, device=device)[None], self.dim)  # (1, L, 1, 1, d/2)

    @property
    def frames(self) -> int:
        return self.cos.shape[1]

    def forward(self, frames: int, grow: bool = True) -> tuple[Tensor, Tensor]:
        """(cos, sin) of frames 0 .. frames-1, each (1, frames, 1, 1, dim/2) fp32, as frame_rotation of
        arange(frames). Beyond the table: grown when `grow` (eager calls), else computed for this call only
        (inside torch.compile tracing or CUDA-graph capture, where keeping a new tensor is a side effect)."""
        if frames > self.frames:
            if not grow:
                return frame_rotation(torch.arange(frames, device=self.cos.device)[None], self.dim)
            self._fill(frames, self.cos.device)
        return self.cos[:, :frames], self.sin[:, :frames]

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> FrameRotationTable:
        """Follow the module to the device `fn` sends tensors to; recomputed there in fp32, whatever dtype."""
        self._fill(self.frames, fn(self.cos[:, :1]).device)
        return super()._apply(fn, recurse)
