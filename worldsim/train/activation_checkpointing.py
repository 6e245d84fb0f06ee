"""Recompute each layer's activations during backward instead of storing them (less memory, ~30% more compute)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from worldsim.model.state import LayerState

Rotation = tuple[Tensor, Tensor] | None  # RoPE (cos, sin) of the frames (worldsim.model.rotary)


def enable_activation_checkpointing(model: nn.Module) -> None:
    """Wrap the forward of every block in `model.layers`; stateful (inference) calls are left alone."""
    for layer in model.layers:
        layer.forward = _checkpointed(layer.forward)


def _checkpointed(original: Callable) -> Callable:
    """`original` (WorldModelLayer.forward) recomputed in backward when it starts a clip with gradients.
    Only x is kept: a clip's end state is unused in training (it would also be stored, defeating the point)."""

    def layer_output(x: Tensor, cond: Tensor, positions: Tensor, rotation: Rotation, commit: bool,
                     pose_keys: Tensor | None) -> Tensor:
        return original(x, cond, positions, rotation, None, commit, pose_keys)[0]

    def forward(
        x: Tensor, cond: Tensor, positions: Tensor, rotation: Rotation, state: LayerState | None = None,
        commit: bool = True, pose_keys: Tensor | None = None,
    ) -> tuple[Tensor, LayerState]:
        if state is None and x.requires_grad:
            output = checkpoint(layer_output, x, cond, positions, rotation, commit, pose_keys, use_reentrant=False)
            return output, LayerState()
        return original(x, cond, positions, rotation, state, commit, pose_keys)

    return forward
