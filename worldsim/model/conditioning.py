"""Per-frame conditioning vector: noise-level embedding + action embedding (Po et al. 2025, sec. 3)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def sinusoidal_features(values: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """values (...,) -> (..., dim) sin/cos features (DiT's timestep_embedding)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=values.device, dtype=torch.float32) / half)
    angles = values.float()[..., None] * freqs
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class FrameConditioning(nn.Module):
    def __init__(self, width: int, num_discrete: int, num_continuous: int, feature_dim: int = 256):
        super().__init__()
        self.feature_dim = feature_dim
        self.noise_mlp = nn.Sequential(nn.Linear(feature_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.discrete = nn.Embedding(num_discrete, width) if num_discrete else None
        self.continuous = (
            nn.Sequential(nn.Linear(num_continuous, width), nn.SiLU(), nn.Linear(width, width))
            if num_continuous else None
        )
        nn.init.normal_(self.noise_mlp[0].weight, std=0.02)
        nn.init.normal_(self.noise_mlp[2].weight, std=0.02)
        if self.discrete is not None:
            nn.init.normal_(self.discrete.weight, std=0.02)

    def forward(self, noise_levels: Tensor, discrete: Tensor | None, continuous: Tensor | None) -> Tensor:
        """noise_levels (B, T) in [0, 1], discrete (B, T) long, continuous (B, T, C) -> (B, T, D).
        A missing action (None) contributes nothing."""
        # scaled by 1000 so that the features resolve noise levels as DiT's integer timesteps do
        cond = self.noise_mlp(sinusoidal_features(noise_levels * 1000.0, self.feature_dim).to(self._dtype))
        if discrete is not None and self.discrete is not None:
            cond = cond + self.discrete(discrete)
        if continuous is not None and self.continuous is not None:
            cond = cond + self.continuous(continuous.to(self._dtype))
        return cond

    @property
    def _dtype(self) -> torch.dtype:
        return self.noise_mlp[0].weight.dtype
