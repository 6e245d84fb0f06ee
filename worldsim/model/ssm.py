"""Block-wise Mamba2 mixer: every (b_h, b_w) block of the token grid is one sequence through time.

Layout follows mamba's modules/mamba2.py (in_proj -> causal depthwise conv -> SiLU -> SSD scan ->
gated RMSNorm -> out_proj); the block-wise scan is from Po et al. 2025, section 3.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import Tensor, nn

from worldsim.model.causal_conv import causal_depthwise_conv
from worldsim.model.ssd_scan import ssd_scan


class GatedRMSNorm(nn.Module):
    """RMSNorm(y * SiLU(z)) * weight, in fp32 (mamba's norm_before_gate=False)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, y: Tensor, z: Tensor) -> Tensor:
        gated = y.float() * F.silu(z.float())
        normed = gated * torch.rsqrt(gated.pow(2).mean(-1, keepdim=True) + self.eps)
        return (normed * self.weight.float()).to(y.dtype)


class BlockwiseMamba2(nn.Module):
    def __init__(
        self,
        width: int,
        block_size: tuple[int, int],
        d_state: int = 32,
        headdim: int = 64,
        expand: int = 2,
        d_conv: int = 4,
        chunk_size: int = 64,
        backend: str = "auto",
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        memory_frames: float = 0.0,
        pose_keys: int = 0,
    ):
        super().__init__()
        self.block_size = block_size
        self.pose_keys = pose_keys
        self.d_state, self.headdim, self.d_conv, self.chunk_size = d_state, headdim, d_conv, chunk_size
        self.backend = backend
        self.d_inner = expand * width
        self.heads = self.d_inner // headdim
        self.conv_dim = self.d_inner + 2 * d_state  # x, B, C (one group)
        self.in_proj = nn.Linear(width, self.d_inner + self.conv_dim + self.heads, bias=False)  # z, xBC, dt
        self.conv1d = nn.Conv1d(self.conv_dim, self.conv_dim, d_conv, groups=self.conv_dim)
        if memory_frames > 0:  # horizons 1/(dt·A) of 0.5 .. memory_frames frames, in scan steps (A = 1)
            tokens = block_size[0] * block_size[1]
            horizon = torch.logspace(math.log10(0.5), math.log10(memory_frames), self.heads) * tokens
            dt, A = 1.0 / horizon, torch.ones(self.heads)
        else:  # mamba2.py: dt log-uniform in [dt_min, dt_max], A uniform in [1, 16]
            dt = torch.exp(torch.rand(self.heads) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
            A = torch.empty(self.heads).uniform_(1, 16)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(self.heads))
        self.norm = GatedRMSNorm(self.d_inner)
        self.out_proj = nn.Linear(self.d_inner, width, bias=False)
        # pose keys (model/odometry.py): pose_keys more state dimensions, written with the pose's features as B
        # and read with them as C times this gain, so a frame reads what was written at the same pose (a
        # kernel over poses); 0 at the start, so that the layer computes what it did without them
        self.pose_gain = nn.Parameter(torch.zeros(())) if pose_keys else None

    @torch.no_grad()
    def horizons(self) -> Tensor:
        """Per head, the frames after which the state has decayed to 1/e at the bias dt (input-independent part);
        a report, outside autograd."""
        rate = F.softplus(self.dt_bias.float()) * torch.exp(self.A_log.float())  # per scan step
        return 1.0 / (rate * self.block_size[0] * self.block_size[1])

    def num_blocks(self, grid: tuple[int, int]) -> int:
        return (grid[0] // self.block_size[0]) * (grid[1] // self.block_size[1])

    def state_shapes(self, batch: int, grid: tuple[int, int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Shapes of (conv state, ssm state) for `batch` clips."""
        sequences = batch * self.num_blocks(grid)
        states = self.d_state + self.pose_keys
        return (sequences, self.d_conv - 1, self.conv_dim), (sequences, self.heads, self.headdim, states)

    def forward(
        self, x: Tensor, conv_state: Tensor | None = None, ssm_state: Tensor | None = None,
        pose_keys: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """x (B, T, H', W', D) continuing from the states (None = start of a clip), pose_keys (B, T, pose_keys)
        the odometry's features of each frame's pose (required when the layer has pose keys)
        -> (y (B, T, H', W', D), conv state, ssm state fp32) after the last frame."""
        batch, frames, grid_h, grid_w, _ = x.shape
        b_h, b_w = self.block_size
        n_h, n_w = grid_h // b_h, grid_w // b_w
        # time-major within each block: frame t's b_h*b_w tokens, then frame t+1's
        seq = rearrange(x, "b t (nh bh) (nw bw) d -> (b nh nw) (t bh bw) d", bh=b_h, bw=b_w)
        z, xbc, dt = torch.split(self.in_proj(seq), [self.d_inner, self.conv_dim, self.heads], dim=-1)

        conv_out, new_conv_state = causal_depthwise_conv(xbc, self.conv1d.weight, self.conv1d.bias, conv_state)
        xbc = F.silu(conv_out).to(xbc.dtype)  # (S, L, conv_dim)

        x_ssm, B, C = torch.split(xbc, [self.d_inner, self.d_state, self.d_state], dim=-1)
        if self.pose_gain is not None:
            if pose_keys is None:
                raise ValueError("BlockwiseMamba2: this layer keys memory by pose and needs pose_keys")
            keys = repeat(pose_keys.to(B.dtype), "b t k -> (b n) (t p) k", n=n_h * n_w, p=b_h * b_w)
            B = torch.cat([B, keys], -1)
            C = torch.cat([C, keys * self.pose_gain.to(C.dtype)], -1)
        dt = F.softplus(dt.float() + self.dt_bias.float())  # (S, L, heads)
        A = -torch.exp(self.A_log.float())
        y, new_ssm_state = ssd_scan(
            x_ssm.unflatten(-1, (self.heads, self.headdim)), dt, A,
            B.unsqueeze(2), C.unsqueeze(2), self.chunk_size, D=self.D.float(),
            initial_state=ssm_state, backend=self.backend,
        )
        y = self.out_proj(self.norm(y.flatten(2), z))
        y = rearrange(y, "(b nh nw) (t bh bw) d -> b t (nh bh) (nw bw) d", b=batch, nh=n_h, nw=n_w, t=frames, bh=b_h)
        return y, new_conv_state, new_ssm_state
