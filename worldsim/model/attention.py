"""Attention across frames: frame-local (own frame + the previous `window` frames) or full causal.

Both take the keys/values of earlier frames from a cache, so a clip (forward) and a single frame
(step) run the same code. Tokens carry their 2-D position from the patch embedding; the frame
index enters through rotary embeddings (RoPE) of queries and keys, so attention sees relative
frame offsets only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from worldsim.model.rotary import rotate


class FrameAttention(nn.Module):
    def __init__(self, width: int, heads: int, window: int | None):
        """window: past frames visible to a token (frame-local); None = all past frames (causal)."""
        super().__init__()
        self.heads, self.head_dim, self.window = heads, width // heads, window
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(
        self,
        x: Tensor,
        rotation: tuple[Tensor, Tensor],
        past_keys: Tensor | None = None,
        past_values: Tensor | None = None,
        past_valid: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        """x (B, T, N, D), rotation: RoPE (cos, sin) of the frames' indices (rotary.frame_rotation);
        past K/V (B, heads, P, N, d) with past_valid (B, P) bool (frame-local: P = window, unfilled slots False)
        -> (out (B, T, N, D), keys, values, valid) of the frames the next call must see."""
        q, k, v = self.qkv(x).unflatten(-1, (3, self.heads, self.head_dim)).unbind(dim=3)  # (B, T, N, h, d)
        q, k = rotate(q, rotation).to(v.dtype), rotate(k, rotation).to(v.dtype)
        if self.window is None:
            out, keys, values, valid = self._causal(q, k, v, past_keys, past_values)
        else:
            out, keys, values, valid = self._local(q, k, v, past_keys, past_values, past_valid)
        return self.proj(out.to(x.dtype)), keys, values, valid

    def _local(self, q, k, v, past_keys, past_values, past_valid):
        batch, frames, tokens = q.shape[:3]
        window = self.window
        k, v = k.permute(0, 3, 1, 2, 4), v.permute(0, 3, 1, 2, 4)  # (B, h, T, N, d)
        if past_keys is None:
            past_keys = k.new_zeros(batch, self.heads, window, tokens, self.head_dim)
            past_values = v.new_zeros(batch, self.heads, window, tokens, self.head_dim)
            past_valid = torch.zeros(batch, window, dtype=torch.bool, device=k.device)
        keys = torch.cat([past_keys.to(k.dtype), k], dim=2)  # (B, h, window + T, N, d)
        values = torch.cat([past_values.to(v.dtype), v], dim=2)
        valid = torch.cat([past_valid, torch.ones(batch, frames, dtype=torch.bool, device=k.device)], dim=1)
        if frames == 1:  # one step: the concatenation is the window, no copy
            k_win, v_win, mask = keys.flatten(2, 3), values.flatten(2, 3), valid[:, None]
        else:
            k_win, v_win = _frame_windows(keys, frames), _frame_windows(values, frames)
            mask = torch.stack([valid[:, offset: offset + frames] for offset in range(window + 1)], dim=-1)
        # (B, T, window+1) -> (B*T, 1, 1, (window+1)*N); expand, not repeat_interleave: no device sync,
        # so the step stays CUDA-graph capturable
        mask = mask[..., None].expand(*mask.shape, tokens).flatten(-2).flatten(0, 1)[:, None, None]
        out = F.scaled_dot_product_attention(
            q.permute(0, 1, 3, 2, 4).flatten(0, 1), k_win, v_win, attn_mask=mask  # q (B*T, h, N, d)
        )
        out = out.unflatten(0, (batch, frames)).permute(0, 1, 3, 2, 4).flatten(-2)  # (B, T, N, D)
        return out, keys[:, :, -window:], values[:, :, -window:], valid[:, -window:]

    def _causal(self, q, k, v, past_keys, past_values):
        frames, tokens = q.shape[1:3]
        k, v = k.permute(0, 3, 1, 2, 4), v.permute(0, 3, 1, 2, 4)  # (B, h, T, N, d)
        keys = k if past_keys is None else torch.cat([past_keys.to(k.dtype), k], dim=2)  # (B, h, P + T, N, d)
        values = v if past_values is None else torch.cat([past_values.to(v.dtype), v], dim=2)
        past = keys.shape[2] - frames
        query_frame = torch.arange(frames, device=k.device) + past
        key_frame = torch.arange(past + frames, device=k.device)
        mask = key_frame[None, :] <= query_frame[:, None]  # a frame sees itself fully and every earlier frame
        mask = mask[:, None, :, None].expand(frames, tokens, past + frames, tokens).reshape(frames * tokens, -1)
        out = F.scaled_dot_product_attention(
            q.permute(0, 3, 1, 2, 4).flatten(2, 3),  # (B, h, T*N, d)
            keys.flatten(2, 3), values.flatten(2, 3), attn_mask=mask,
        )
        return out.transpose(1, 2).unflatten(1, (frames, tokens)).flatten(-2), keys, values, None


def _frame_windows(x: Tensor, frames: int) -> Tensor:
    """Keys or values (B, h, window + T, N, d) -> (B*T, h, (window+1)*N, d): frame t (index window + t)
    sees frames t .. window + t. Shifted slices stacked in the layout attention reads (one copy); their
    gradient is a sum of shifted slices, where an index gather's is a scatter-add (atomic on the GPU)."""
    x = x.transpose(1, 2)  # (B, window + T, h, N, d)
    span = x.shape[1] - frames + 1
    windows = torch.stack([x[:, offset: offset + frames] for offset in range(span)], dim=3)  # (B, T, h, w+1, N, d)
    return windows.flatten(3, 4).flatten(0, 1)
