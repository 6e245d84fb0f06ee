"""Frame-local attention over a clip builds each frame's key window from shifted slices; same result and
gradients as the index gather it replaced (kept here as the reference). RoPE's angles are computed once for
queries and keys; same values as the per-tensor rotation it replaced."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from worldsim.model.attention import FrameAttention
from worldsim.model.rotary import frame_rotation, rotate


def rotate_by_frame(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """The rotation as of commit 14473b1: angles (and an fp32 copy of x per half) computed per tensor."""
    half = x.shape[-1] // 2
    inv_freq = base ** (-torch.arange(half, device=x.device, dtype=torch.float32) / half)
    angles = positions.to(torch.float32)[..., None] * inv_freq
    cos, sin = angles.cos()[:, :, None, None], angles.sin()[:, :, None, None]
    x1, x2 = x.float()[..., :half], x.float()[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_shared_rotation_equals_the_per_tensor_rotation_and_keeps_relative_offsets(dtype) -> None:
    torch.manual_seed(0)
    q, k = torch.randn(2, 2, 3, 4, 16).to(dtype), torch.randn(2, 2, 3, 4, 16).to(dtype)  # (B, T, N, h, d)
    positions = torch.tensor([[0, 7], [9_990, 9_999]])
    rotation = frame_rotation(positions, 16)
    for x in (q, k):
        assert torch.equal(rotate(x, rotation), rotate_by_frame(x, positions))
    # a score sees only the offset between the query's and the key's frame (here 3): shifting both changes nothing
    def scores(shift: int) -> torch.Tensor:
        return (rotate(q, frame_rotation(positions + shift, 16)) * rotate(k, frame_rotation(positions + shift + 3, 16))).sum(-1)

    torch.testing.assert_close(scores(5), scores(0), rtol=1e-3, atol=1e-3)
    assert not torch.allclose(scores(0), (q.float() * k.float()).sum(-1), rtol=1e-3, atol=1e-3)


def gathered_local(self, q, k, v, past_keys, past_values, past_valid):
    """FrameAttention._local as of commit 83bae1f: windows by an index gather over the clip."""
    batch, frames, tokens = q.shape[:3]
    window = self.window
    k, v = k.permute(0, 3, 1, 2, 4), v.permute(0, 3, 1, 2, 4)
    if past_keys is None:
        past_keys = k.new_zeros(batch, self.heads, window, tokens, self.head_dim)
        past_values = v.new_zeros(batch, self.heads, window, tokens, self.head_dim)
        past_valid = torch.zeros(batch, window, dtype=torch.bool, device=k.device)
    keys = torch.cat([past_keys.to(k.dtype), k], dim=2)
    values = torch.cat([past_values.to(v.dtype), v], dim=2)
    valid = torch.cat([past_valid, torch.ones(batch, frames, dtype=torch.bool, device=k.device)], dim=1)
    gather = torch.arange(frames, device=k.device)[:, None] + torch.arange(window + 1, device=k.device)
    k_win = keys[:, :, gather].transpose(1, 2).flatten(3, 4)
    v_win = values[:, :, gather].transpose(1, 2).flatten(3, 4)
    mask = valid[:, gather]
    mask = mask[..., None].expand(*mask.shape, tokens).flatten(-2)
    out = F.scaled_dot_product_attention(
        q.permute(0, 1, 3, 2, 4).flatten(0, 1), k_win.flatten(0, 1), v_win.flatten(0, 1),
        attn_mask=mask.flatten(0, 1)[:, None, None],
    )
    out = out.unflatten(0, (batch, frames)).permute(0, 1, 3, 2, 4).flatten(-2)
    return out, keys[:, :, -window:], values[:, :, -window:], valid[:, -window:]


def _run(attention: FrameAttention, x: torch.Tensor, positions: torch.Tensor, past: tuple | None):
    out, keys, values, valid = attention(x, frame_rotation(positions, attention.head_dim), *(past or ()))
    (out.square().sum() + keys.sin().sum()).backward()
    grads = [x.grad.clone()] + [p.grad.clone() for p in attention.parameters()]
    x.grad = None
    attention.zero_grad()
    return out.detach(), keys.detach(), values.detach(), valid, grads


@pytest.mark.parametrize("frames,with_past", [(5, False), (2, False), (3, True)])
def test_local_windows_match_the_index_gather(monkeypatch, frames: int, with_past: bool) -> None:
    """A clip from the start (longer and shorter than the window) and a clip continuing a partly filled state."""
    torch.manual_seed(0)
    window, heads, tokens, width, batch = 3, 2, 4, 16, 2
    attention = FrameAttention(width, heads, window)
    x = torch.randn(batch, frames, tokens, width, requires_grad=True)
    positions = torch.arange(frames).expand(batch, frames) + (7 if with_past else 0)
    past = None
    if with_past:
        shape = (batch, heads, window, tokens, width // heads)
        past = (torch.randn(shape), torch.randn(shape), torch.tensor([[False, True, True], [False, False, True]]))
    new = _run(attention, x, positions, past)
    monkeypatch.setattr(FrameAttention, "_local", gathered_local)
    old = _run(attention, x, positions, past)
    for got, want in zip(new[:4], old[:4]):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    for got, want in zip(new[4], old[4]):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
