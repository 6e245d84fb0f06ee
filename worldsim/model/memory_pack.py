"""SemanticPack, the long-term half of MemoryPack (Wu et al. 2025, "Pack and Force Your Memory", sec. 4.1.2).

A fixed set of P memory tokens ψ per layer, rewritten once per segment of S frames:

    ψ_init    = a learned projection of frame 0's tokens, pooled over each pack_window block
    ψ_{k+1}   = g ⊙ ψ_k + (1 − g) ⊙ Squeeze(ψ_k, Memorize(segment k)),
                Squeeze(ψ, m) = m + CrossAttention(q = m, k/v = ψ),   g = sigmoid(persist), (P, D)
    Memorize  = self-attention inside each pack_window block over the segment's S frames, then the mean
                over that spatio-temporal window: one token per block (P = blocks of the token grid)

and read by every frame's tokens through cross-attention (query = the frame's tokens, key/value = ψ).
The direction of Squeeze is the paper's structure A (its best; table 3): the segment's compact embedding
queries the old memory, so the new memory has the segment's P tokens and carries the old one through
the attention values. The persistence gate g is ours: the paper's Squeeze alone replaces ψ every segment,
so content older than one segment survives only through attention values, and on the recall toy
(docs/training.md) nothing was remembered past the window. g starts at exp(−S / memory_frames) in every
channel (memory kept for about memory_frames frames) and is learned per memory token and channel.
Both attentions (frame tokens -> ψ and m -> ψ) add a learned bias per head indexed by (the query's
block, the memory token's block), so a token can find the memory token of its own place.

Causality: frame t reads ψ built from frames < t only. Segment k is frames [kS, (k+1)S); frame 0 reads
the learned `empty` pack, frames 1 .. S-1 read ψ_init, frames of segment k >= 1 read ψ_k (segments < k and
the frame-0 init). The segments a frame has not yet packed are covered by frame-local attention when
pack_segment <= attn_window + 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from worldsim.model.rotary import frame_rotation, rotate


class MemoryAttention(nn.Module):
    """Queries (M, L, D) attend to memory tokens (M, P, D), normalised here (ψ is a residual sum), with a
    learned additive bias per head indexed by (the query's block, the memory token's block)."""

    def __init__(self, width: int, heads: int, blocks: int):
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.proj = nn.Linear(width, width)
        # (h, P query blocks, P memory tokens); small random like a relative position bias table (Swin):
        # near-neutral at the start, learnable, the same for every head and place until trained
        self.position_bias = nn.Parameter(torch.randn(heads, blocks, blocks) * 0.02)

    def forward(self, queries: Tensor, memory: Tensor, query_blocks: Tensor | None) -> Tensor:
        """query_blocks (L,) int64: the block of each query, a row of position_bias; None: the queries are
        the P memory tokens themselves, in block order (the squeeze)."""
        q = self.q(queries).unflatten(-1, (self.heads, -1)).transpose(1, 2)  # (M, h, L, d)
        k, v = self.kv(self.norm(memory)).unflatten(-1, (2, self.heads, -1)).permute(2, 0, 3, 1, 4)
        # (h, L, P), broadcast over M; the squeeze's queries are the memory tokens in block order, so its rows
        # are the table's own
        bias = self.position_bias if query_blocks is None else self.position_bias[:, query_blocks]
        bias = bias.to(q.dtype)
        out = F.scaled_dot_product_attention(q, k.to(q.dtype), v.to(q.dtype), attn_mask=bias)
        return self.proj(out.transpose(1, 2).flatten(2))


class Memorize(nn.Module):
    """Segments (M, S, H', W', D) -> compact embedding (M, P, D): windowed self-attention, then
    mean-pooling."""

    def __init__(self, width: int, heads: int, window: tuple[int, int]):
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, segments: Tensor) -> Tensor:
        batch, frames = segments.shape[:2]
        b_h, b_w = self.window
        tokens = rearrange(segments, "m s (ph bh) (pw bw) d -> (m ph pw) s (bh bw) d", bh=b_h, bw=b_w)
        q, k, v = self.qkv(tokens).unflatten(-1, (3, self.heads, -1)).unbind(dim=3)  # (M*P, S, w, h, d)
        # the frame order inside the segment enters through RoPE of the in-segment offset 0 .. S-1
        offsets = torch.arange(frames, device=segments.device).expand(tokens.shape[0], frames)
        rotation = frame_rotation(offsets, q.shape[-1])
        q, k = rotate(q, rotation).to(v.dtype), rotate(k, rotation).to(v.dtype)
        q, k, v = (t.flatten(1, 2).transpose(1, 2) for t in (q, k, v))  # (M*P, h, S*w, d)
        out = F.scaled_dot_product_attention(q, k, v)
        # mean over the window of (tokens + proj(out)) = mean(tokens) + proj(mean(out)): project P tokens only
        pooled = tokens.mean(dim=(1, 2)) + self.proj(out.mean(dim=2).flatten(1).to(tokens.dtype))
        return pooled.unflatten(0, (batch, -1))


# Parameters of SemanticPack added after pack+local checkpoints were first written (glob patterns over
# state_dict names): a checkpoint without them predates the gate and the position bias.
ADDED_PACK_PARAMETERS = ("layers.*.pack.persist", "layers.*.pack.read.position_bias",
                         "layers.*.pack.squeeze.position_bias")


def block_index(grid: tuple[int, int], window: tuple[int, int]) -> Tensor:
    """(H'·W',) int64: the pack_window block of each token of the grid, row-major, in the order of the
    memory tokens ((ph pw) of Memorize and the init)."""
    rows = torch.arange(grid[0]) // window[0]
    cols = torch.arange(grid[1]) // window[1]
    return (rows[:, None] * (grid[1] // window[1]) + cols[None, :]).flatten()


class SemanticPack(nn.Module):
    def __init__(self, width: int, heads: int, grid: tuple[int, int], window: tuple[int, int], segment: int,
                 memory_frames: float = 64.0):
        super().__init__()
        self.grid, self.window, self.segment = grid, window, segment
        self.tokens = (grid[0] // window[0]) * (grid[1] // window[1])
        self.read = MemoryAttention(width, heads, self.tokens)
        self.memorize = Memorize(width, heads, window)
        self.squeeze = MemoryAttention(width, heads, self.tokens)
        self.squeeze_norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.init = nn.Linear(width, width)
        self.empty = nn.Parameter(torch.randn(self.tokens, width) * 0.02)  # what frame 0 reads
        # persistence gate logit (P, D): g0 = exp(-S / memory_frames) keeps a memory ~memory_frames frames
        rate = segment / memory_frames
        logit = -rate - math.log(-math.expm1(-rate))  # log(g0 / (1 - g0)), finite for any rate > 0
        self.persist = nn.Parameter(torch.full((self.tokens, width), logit))
        # which block each frame token belongs to (the read's rows of its position bias)
        self.register_buffer("token_blocks", block_index(grid, window), persistent=False)

    def segment_shape(self, batch: int) -> tuple[int, ...]:
        """(B, S, N, D): the segment buffer of `batch` clips."""
        return batch, self.segment, self.grid[0] * self.grid[1], self.empty.shape[1]

    def empty_pack(self, batch: int) -> Tensor:
        """(B, P, D): the pack before any frame (learned; frame 0 reads it)."""
        return self.empty.expand(batch, *self.empty.shape)

    def forward(
        self, x: Tensor, positions: Tensor, pack: Tensor | None, segment: Tensor | None, commit: bool = True
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """x (B, T, H', W', D) features, positions (B, T) frame indices; pack (B, P, D) and segment
        (B, S, N, D) = the frames of the current segment so far, by slot t mod S (None = start of a clip)
        -> (out (B, T, H', W', D), pack, segment) after these frames; commit=False skips the update
        (returns None for both). A state is continued one frame at a time (T = 1)."""
        if pack is None:
            return self._clip(x)
        if x.shape[1] != 1:
            raise ValueError(
                f"SemanticPack: a state is continued one frame at a time, got {x.shape[1]} frames"
            )
        out = self._read(x, pack[:, None])
        if not commit:
            return out, None, None
        # fixed shapes and no Python branch on the frame index: every commit computes the init and the
        # squeeze, torch.where keeps them only at frame 0 and a segment's last frame (CUDA-graph capturable)
        frame = positions[:, 0]
        slot = frame % self.segment
        write = (torch.arange(self.segment, device=x.device) == slot[:, None])[:, :, None, None]
        segment = torch.where(write, x.flatten(2, 3).to(segment.dtype), segment)
        base = torch.where((frame == 0)[:, None, None], self._init(x[:, 0]).to(pack.dtype), pack)
        squeezed = self._squeeze(base, self.memorize(segment.unflatten(2, self.grid)))
        pack = torch.where((slot == self.segment - 1)[:, None, None], squeezed.to(pack.dtype), base)
        return out, pack, segment

    def _clip(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """A clip from its first frame: every complete segment is memorised at once, then the chain of
        squeezes runs segment by segment (T/S small steps)."""
        batch, frames = x.shape[:2]
        size = self.segment
        complete = frames // size
        base = self._init(x[:, 0])
        packs = [self.empty_pack(batch).to(base.dtype), base]
        if complete:
            segments = x[:, : complete * size].unflatten(1, (complete, size)).flatten(0, 1)
            memorized = self.memorize(segments).unflatten(0, (batch, complete))  # (B, K, P, D)
            packs += _squeeze_chain(self, base, memorized)
        read = [0] + [1 + t // size for t in range(1, frames)]  # frame t reads packs[read[t]]
        out = self._read(x, torch.stack(packs, dim=1)[:, read])
        # the segment buffer a frame-by-frame run would hold: slot s = the latest frame with t mod S = s
        tokens = x.flatten(2, 3)
        latest = [s + size * ((frames - 1 - s) // size) for s in range(min(size, frames))]
        unfilled = tokens.new_zeros(batch, size - len(latest), *tokens.shape[2:])
        segment = torch.cat([tokens[:, latest], unfilled], dim=1)
        return out, packs[-1], segment

    def _read(self, x: Tensor, packs: Tensor) -> Tensor:
        """x (B, T, H', W', D), packs (B, T, P, D): frame t's tokens read packs[:, t]."""
        out = self.read(x.flatten(0, 1).flatten(1, 2), packs.flatten(0, 1).to(x.dtype), self.token_blocks)
        return out.view(x.shape)

    def _init(self, frame: Tensor) -> Tensor:
        """frame (B, H', W', D) -> ψ_init (B, P, D): block means of the first frame, projected."""
        b_h, b_w = self.window
        pooled = rearrange(frame, "b (ph bh) (pw bw) d -> b (ph pw) (bh bw) d", bh=b_h, bw=b_w).mean(dim=2)
        return self.init(pooled)

    def _squeeze(self, pack: Tensor, memorized: Tensor) -> Tensor:
        """ψ (B, P, D), Memorize(segment) (B, P, D) -> the next ψ: the segment's embedding queries the
        old ψ, and the gate keeps g of the old ψ."""
        squeezed = memorized + self.squeeze(self.squeeze_norm(memorized), pack, None)
        keep = torch.sigmoid(self.persist).to(squeezed.dtype)
        return keep * pack.to(squeezed.dtype) + (1 - keep) * squeezed


@torch.compiler.disable(recursive=False)
def _squeeze_chain(pack_module: SemanticPack, pack: Tensor, memorized: Tensor) -> list[Tensor]:
    """ψ (B, P, D), Memorize of K segments (B, K, P, D) -> the K packs after each squeeze. torch.compile
    leaves this loop alone and compiles the squeeze it calls once per layer, reused for every segment:
    unrolled into the clip's graph, the 64 squeezes per layer of a 256-frame clip took compilation past
    8 minutes."""
    packs = []
    for k in range(memorized.shape[1]):
        pack = pack_module._squeeze(pack, memorized[:, k])
        packs.append(pack)
    return packs
