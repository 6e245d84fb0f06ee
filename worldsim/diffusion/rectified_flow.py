"""Rectified flow (Liu et al. 2022) with diffusion forcing: the training loss of the world model.

x_t = t·x + (1−t)·ε with t = 1 clean; the network predicts the velocity v = dx_t/dt = x − ε.
Every frame of a clip has its own t (diffusion forcing, Chen et al. 2024); frames marked as clean
context are fed at t = 1 and excluded from the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from worldsim.diffusion.noise_levels import (
    NoiseLevelConfig,
    RandomSource,
    draw,
    prefix_mask,
    sample_clean_prefix_lengths,
    sample_noise_levels,
)


def _expand(t: Tensor, like: Tensor) -> Tensor:
    """(B, T) or (B,) noise levels -> broadcastable against frames (B, T, 3, H, W) or (B, 3, H, W)."""
    return t.reshape(t.shape + (1,) * (like.dim() - t.dim())).to(like.dtype)


def add_noise(clean: Tensor, noise: Tensor, t: Tensor) -> Tensor:
    """x_t = t·x + (1−t)·ε."""
    t = _expand(t, clean)
    return t * clean + (1.0 - t) * noise


def velocity_target(clean: Tensor, noise: Tensor) -> Tensor:
    """v = x − ε."""
    return clean - noise


def one_step_estimate(noisy: Tensor, velocity: Tensor, t: Tensor) -> Tensor:
    """x̃ = x_t + (1−t)·v: the clean frame reached by one Euler step from t to 1."""
    return noisy + (1.0 - _expand(t, noisy)) * velocity


@dataclass
class FlowBatch:
    """One diffusion-forcing training input. Frames (B, T, 3, H, W) in [-1, 1]; levels, mask (B, T)."""

    noisy: Tensor
    noise_levels: Tensor
    target: Tensor
    loss_mask: Tensor  # float (B, T): 1 where the frame counts in the loss


def make_flow_batch(
    clean: Tensor, config: NoiseLevelConfig, generator: RandomSource = None,
    context: Tensor | None = None,
) -> FlowBatch:
    """Noise every frame independently; with prob `long_context_prob` keep a clean prefix out of the loss.

    `context` bool (B, T), if given, replaces the random prefix: those frames are clean and not scored.
    """
    batch, length = clean.shape[:2]
    levels = sample_noise_levels(config, (batch, length), generator, clean.device)
    if context is None:
        lengths = sample_clean_prefix_lengths(batch, length, config.long_context_prob, generator)
        context = prefix_mask(lengths.to(clean.device), length)
    context = context.to(clean.device)
    levels = torch.where(context, torch.ones_like(levels), levels)
    noise = draw(generator, tuple(clean.shape), torch.randn, clean.device)
    noise = noise.to(device=clean.device, dtype=clean.dtype)
    return FlowBatch(
        noisy=add_noise(clean, noise, levels),
        noise_levels=levels,
        target=velocity_target(clean, noise),
        loss_mask=(~context).to(clean.dtype),
    )


def masked_velocity_loss(prediction: Tensor, batch: FlowBatch) -> Tensor:
    """Mean squared velocity error: per clip over its scored frames, then the mean over clips.

    Per clip first (not one mean over all scored frames) so the loss is a mean of per-sample terms:
    DDP's average of per-rank losses then equals the one-process loss of the same global batch even
    when ranks score different numbers of frames (long-context prefixes). See docs/training.md.
    """
    per_frame = (prediction.float() - batch.target.float()).pow(2).mean(dim=(-3, -2, -1))  # (B, T)
    weight = batch.loss_mask.float()
    per_clip = (per_frame * weight).sum(1) / weight.sum(1).clamp_min(1.0)
    return per_clip.mean()


def flow_matching_loss(
    model: nn.Module, clean: Tensor, discrete: Tensor | None, continuous: Tensor | None,
    config: NoiseLevelConfig, generator: RandomSource = None, context: Tensor | None = None,
) -> Tensor:
    """Scalar training loss of `model` on clean clips (B, T, 3, H, W) with actions (B, T)/(B, T, C)."""
    batch = make_flow_batch(clean, config, generator, context)
    prediction = model(batch.noisy, batch.noise_levels, discrete, continuous)
    return masked_velocity_loss(prediction, batch)
