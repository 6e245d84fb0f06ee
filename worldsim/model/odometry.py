"""Dead reckoning from the actions: a pose (heading, x, y) integrated over the frames, a key for memory.

Why: to bring back a place seen long ago, the scan must write each view under a key it can find again, and
the frames give none (different places fall on the same pixels; the two-pattern recall toy in
docs/training.md shows the scan failing to choose between them). A pose is such a key: turning back to a
heading or walking back to a spot restores it exactly. The model learns what each action does to the pose
(radians turned and distance moved per frame, per discrete action; radians per unit of each continuous
action) and sums it over the frames. Fourier features of the pose are used twice: added to the frame
conditioning (through adaLN they reach every layer), and as extra key dimensions of every scan's state
(model/ssm.py: written as B, read as C), so that a frame reads what was written at the same pose. A wall
that blocks a move makes the estimate drift; the model learns how far to trust it.

The state is the pose after the committed frames: (B, 3) float32, fixed size (CUDA-graph capturable).
Off (`ModelConfig.odometry_frequencies = 0`) the model is exactly what it was without it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

POSE_SIZE = 3  # heading (radians, unwrapped), x, y (the model's own units)


class Odometry(nn.Module):
    def __init__(self, width: int, num_discrete: int, num_continuous: int, frequencies: int):
        super().__init__()
        # small random starting increments: with all of them 0 every pose is 0 and no gradient reaches them
        self.turn = nn.Parameter(0.1 * torch.randn(max(num_discrete, 1)))  # radians per frame, per action
        self.advance = nn.Parameter(0.1 * torch.randn(max(num_discrete, 1), 2))  # (forward, rightward) per frame
        self.turn_continuous = nn.Parameter(0.1 * torch.randn(max(num_continuous, 1)))
        # heading: integer frequencies 1..F, so headings 2π apart give the same features (when the increments
        # measure a full rotation as 2π); position: directions spread over half a circle at scales 2^-2 .. 2^2.
        # Constants of the config, not weights: left out of checkpoints (and of a bf16 export's rounding)
        self.register_buffer("heading_frequencies", torch.arange(1, frequencies + 1, dtype=torch.float32),
                             persistent=False)
        angles = torch.arange(frequencies, dtype=torch.float32) * math.pi / frequencies
        scales = torch.logspace(-2, 2, frequencies, base=2.0)
        self.register_buffer("position_frequencies", torch.stack([angles.cos(), angles.sin()], -1) * scales[:, None],
                             persistent=False)
        self.project = nn.Sequential(nn.Linear(4 * frequencies, width), nn.SiLU(), nn.Linear(width, width))
        nn.init.zeros_(self.project[2].weight)  # starts switched off: a model given odometry plays as before
        nn.init.zeros_(self.project[2].bias)

    def increments(self, discrete: Tensor | None, continuous: Tensor | None, shape: tuple[int, int],
                   device: torch.device) -> tuple[Tensor, Tensor]:
        """discrete (B, T) long, continuous (B, T, C) -> heading change (B, T) and (forward, rightward)
        moves (B, T, 2) in float32; a missing action moves nothing."""
        turn = torch.zeros(shape, device=device)
        advance = torch.zeros(*shape, 2, device=device)
        if discrete is not None:
            turn = turn + self.turn.float()[discrete]
            advance = advance + self.advance.float()[discrete]
        if continuous is not None:
            turn = turn + continuous.float() @ self.turn_continuous.float()[: continuous.shape[-1]]
        return turn, advance

    def poses(self, discrete: Tensor | None, continuous: Tensor | None, shape: tuple[int, int],
              device: torch.device, start: Tensor | None = None) -> Tensor:
        """The pose after each frame's action, (B, T, 3) float32, from `start` (B, 3) (None: the origin)."""
        turn, advance = self.increments(discrete, continuous, shape, device)
        heading = turn.cumsum(1)
        if start is not None:
            heading = heading + start[:, None, 0]
        forward, right = advance.unbind(-1)
        cos, sin = heading.cos(), heading.sin()
        position = torch.stack([forward * cos - right * sin, forward * sin + right * cos], -1).cumsum(1)
        if start is not None:
            position = position + start[:, None, 1:]
        return torch.cat([heading[..., None], position], -1)

    def features(self, poses: Tensor) -> Tensor:
        """poses (B, T, 3) -> (B, T, 4F) float32: cos and sin of the heading's and the position's phases,
        scaled so that two equal poses have the dot product 1 (the scan's pose keys)."""
        heading = poses[..., :1] * self.heading_frequencies.float()  # (B, T, F); float: the model may be bf16
        position = poses[..., 1:] @ self.position_frequencies.float().T  # (B, T, F)
        features = torch.cat([heading.cos(), heading.sin(), position.cos(), position.sin()], -1)
        return features * (0.5 / self.heading_frequencies.numel()) ** 0.5

    def forward(self, features: Tensor) -> Tensor:
        """features (B, T, 4F) -> (B, T, D), added to the frame conditioning."""
        return self.project(features.to(self.project[0].weight.dtype))
