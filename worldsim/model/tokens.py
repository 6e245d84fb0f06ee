"""Frames <-> tokens: patch embedding with a learned 2-D position embedding, and the adaLN output head."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn


def modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    """x (B, T, ..., D) with per-frame shift/scale (B, T, D) broadcast over the frame's tokens."""
    extra = x.dim() - shift.dim()
    shape = shift.shape[:2] + (1,) * extra + shift.shape[2:]
    return x * (1 + scale.reshape(shape)) + shift.reshape(shape)


class PatchEmbed(nn.Module):
    def __init__(self, channels: int, patch_size: int, width: int, grid: tuple[int, int]):
        super().__init__()
        self.proj = nn.Conv2d(channels, width, kernel_size=patch_size, stride=patch_size)
        self.position = nn.Parameter(torch.randn(grid[0], grid[1], width) * 0.02)

    def forward(self, frames: Tensor) -> Tensor:
        """frames (B, T, C, H, W) -> tokens (B, T, H', W', D)."""
        batch = frames.shape[0]
        tokens = self.proj(frames.flatten(0, 1).to(self.proj.weight.dtype))
        return rearrange(tokens, "(b t) d h w -> b t h w d", b=batch) + self.position


class OutputHead(nn.Module):
    """adaLN-modulated LayerNorm and a zero-initialised linear map from each token to its patch (DiT)."""

    def __init__(self, width: int, patch_size: int, channels: int):
        super().__init__()
        self.patch_size = patch_size
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.linear = nn.Linear(width, patch_size * patch_size * channels)
        for layer in (self.modulation[1], self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, tokens: Tensor, cond: Tensor) -> Tensor:
        """tokens (B, T, H', W', D), cond (B, T, D) -> (B, T, C, H, W)."""
        shift, scale = self.modulation(cond).chunk(2, dim=-1)
        patches = self.linear(modulate(self.norm(tokens), shift, scale))
        p = self.patch_size
        return rearrange(patches, "b t h w (p q c) -> b t c (h p) (w q)", p=p, q=p)
