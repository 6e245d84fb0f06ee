"""One layer: block-wise SSM scan (or SemanticPack) -> frame attention -> MLP, each a residual with
per-frame adaLN (DiT)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from worldsim.model.attention import FrameAttention
from worldsim.model.config import ModelConfig
from worldsim.model.memory_pack import SemanticPack
from worldsim.model.ssm import BlockwiseMamba2
from worldsim.model.state import LayerState
from worldsim.model.tokens import modulate


def sublayer_names(config: ModelConfig) -> list[str]:
    """The residual sub-layers of every layer, in order; sub-layer i owns rows [3i·D, 3(i+1)·D) of the adaLN
    modulation's output (its shift, scale and gate), so variants share the rows of the sub-layers they share."""
    present = {"ssm": config.uses_ssm, "pack": config.uses_pack, "attn": config.uses_attention, "mlp": True}
    return [name for name, used in present.items() if used]


class WorldModelLayer(nn.Module):
    def __init__(self, config: ModelConfig, index: int):
        super().__init__()
        width = config.width
        self.grid = config.token_grid
        self.ssm = (
            BlockwiseMamba2(
                width, config.block_size(index), d_state=config.ssm_state, headdim=config.ssm_headdim,
                expand=config.ssm_expand, d_conv=config.ssm_conv, chunk_size=config.ssm_chunk,
                backend=config.ssm_backend, memory_frames=config.ssm_memory_frames,
                pose_keys=config.pose_key_size,
            )
            if config.uses_ssm else None
        )
        self.pack = (
            SemanticPack(width, config.attn_heads, self.grid, config.pack_window, config.pack_segment,
                         config.pack_memory_frames)
            if config.uses_pack else None
        )
        self.attn = (
            FrameAttention(width, config.attn_heads, None if config.temporal == "full" else config.attn_window)
            if config.uses_attention else None
        )
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(approximate="tanh"), nn.Linear(4 * width, width))
        self.sublayers = sublayer_names(config)
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        # shift, scale, gate per sub-layer; zero-initialised so every layer starts as the identity
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 3 * len(self.sublayers) * width))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)

    def forward(
        self, x: Tensor, cond: Tensor, positions: Tensor, rotation: tuple[Tensor, Tensor] | None,
        state: LayerState | None = None, commit: bool = True, pose_keys: Tensor | None = None,
    ) -> tuple[Tensor, LayerState]:
        """x (B, T, H', W', D), cond (B, T, D), positions (B, T) frame indices and their RoPE (cos, sin)
        (rotary.frame_rotation; None without attention), state from the previous frames (None = start of a
        clip), pose_keys (B, T, K) the odometry's pose features for the scan (None without odometry)
        -> (x, state after the last of these frames).
        commit=False may leave out state that costs extra work to build (the pack's update)."""
        state = state or LayerState()
        new = LayerState()
        mods = self.modulation(cond).chunk(3 * len(self.sublayers), dim=-1)
        for i, name in enumerate(self.sublayers):
            shift, scale, gate = mods[3 * i: 3 * i + 3]
            h = modulate(self.norm(x), shift, scale)
            if name == "ssm":
                h, new.conv, new.ssm = self.ssm(h, state.conv, state.ssm, pose_keys)
            elif name == "pack":
                h, new.pack, new.segment = self.pack(h, positions, state.pack, state.segment, commit)
            elif name == "attn":
                tokens = h.flatten(2, 3)  # (B, T, N, D)
                h, new.keys, new.values, new.valid = self.attn(
                    tokens, rotation, state.keys, state.values, state.valid
                )
                h = h.unflatten(2, self.grid)
            else:
                h = self.mlp(h)
            x = x + gate[:, :, None, None] * h
        return x, new

    def init_state(self, batch: int, device, dtype) -> LayerState:
        state = LayerState()
        if self.ssm is not None:
            conv_shape, ssm_shape = self.ssm.state_shapes(batch, self.grid)
            state.conv = torch.zeros(conv_shape, device=device, dtype=dtype)
            state.ssm = torch.zeros(ssm_shape, device=device, dtype=torch.float32)
        if self.pack is not None:
            state.pack = self.pack.empty_pack(batch).detach().to(device=device, dtype=dtype).clone()
            state.segment = torch.zeros(self.pack.segment_shape(batch), device=device, dtype=dtype)
        if self.attn is not None:
            tokens = self.grid[0] * self.grid[1]
            frames = 0 if self.attn.window is None else self.attn.window
            shape = (batch, self.attn.heads, frames, tokens, self.attn.head_dim)
            state.keys = torch.zeros(shape, device=device, dtype=dtype)
            state.values = torch.zeros(shape, device=device, dtype=dtype)
            if self.attn.window is not None:
                state.valid = torch.zeros(batch, frames, dtype=torch.bool, device=device)
        return state
