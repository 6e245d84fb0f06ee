"""Effective memory of a trained scan: per layer and head, the frames after which its state decays to 1/e
on real frames (the input-dependent dt averaged over the tokens of a clip, not only its bias)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from worldsim.frames import to_model


@torch.no_grad()
def scan_horizons(model: nn.Module, clips: dict[str, Tensor]) -> list[list[float]]:
    """Horizons in frames, [layer][head], from one forward pass of `clips` (clean frames, true actions);
    [] for a model without a scan."""
    rates: dict[int, Tensor] = {}
    hooks = []
    for index, layer in enumerate(model.layers):
        ssm = getattr(layer, "ssm", None)
        if ssm is None:
            continue

        def record(module: nn.Module, _inputs, output: Tensor, index: int = index, ssm=ssm) -> None:
            dt = F.softplus(output[..., -ssm.heads:].float() + ssm.dt_bias.float())  # (S, L, heads)
            rates[index] = dt.mean(dim=(0, 1)) * torch.exp(ssm.A_log.float())  # decay per scan step

        hooks.append(ssm.in_proj.register_forward_hook(record))
    try:
        frames = to_model(clips["frames"])
        ones = torch.ones(frames.shape[:2], device=frames.device)
        continuous = clips["continuous"] if model.config.num_continuous_actions else None
        model(frames, ones, clips["discrete"] if model.config.num_discrete_actions else None, continuous)
    finally:
        for hook in hooks:
            hook.remove()
    horizons = []
    for index in sorted(rates):
        b_h, b_w = model.layers[index].ssm.block_size
        horizons.append((1.0 / (rates[index] * b_h * b_w)).tolist())
    return horizons
