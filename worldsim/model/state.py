"""The inference state carried between frames: fixed-size per layer (except temporal='full')."""

from __future__ import annotations

from dataclasses import dataclass, fields

from torch import Tensor


@dataclass
class LayerState:
    conv: Tensor | None = None  # (B*nblocks, d_conv-1, conv_dim): last pre-conv inputs of each block sequence
    ssm: Tensor | None = None  # (B*nblocks, heads, headdim, d_state), fp32
    keys: Tensor | None = None  # (B, heads, window, N, head_dim) ring buffer, oldest first; full: (B, heads, P, ...)
    values: Tensor | None = None  # same shape as keys
    valid: Tensor | None = None  # (B, window) bool, False for slots not filled yet; None for full
    pack: Tensor | None = None  # (B, P, D) SemanticPack memory tokens the next frame reads
    segment: Tensor | None = None  # (B, S, N, D) features of the current segment's frames, slot = frame mod S


@dataclass
class ModelState:
    layers: list[LayerState]
    frame_index: Tensor  # (B,) long: frames committed so far = frame index (RoPE position) of the next frame
    pose: Tensor | None = None  # (B, 3) float32: the odometry's pose after the committed frames

    def tensors(self) -> list[Tensor]:
        found = [self.frame_index] + ([] if self.pose is None else [self.pose])
        for layer in self.layers:
            found += [getattr(layer, f.name) for f in fields(layer) if getattr(layer, f.name) is not None]
        return found


def state_nbytes(state: ModelState) -> int:
    """Bytes held by every tensor of the state."""
    return sum(t.numel() * t.element_size() for t in state.tensors())


def commit_layer_state(target: LayerState, new: LayerState) -> None:
    """Write `new` into `target` in place (fixed shapes: CUDA-graph safe); a growing cache is replaced."""
    for f in fields(target):
        old, value = getattr(target, f.name), getattr(new, f.name)
        if value is None:
            continue
        if old is None or old.shape != value.shape:
            setattr(target, f.name, value)  # temporal='full': the KV cache grows by one frame
        else:
            old.copy_(value)
