"""Direct Forcing (Wu et al. 2025, "Pack and Force Your Memory", §4.2): train on self-estimated context.

At play time the model conditions on its own generated frames; in ordinary training it conditions on
ground truth. Direct Forcing closes that gap cheaply: the context is replaced by the model's one-step
estimate x̃ = x_t + (1−t)·v_θ(x_t, t) of a noised copy, computed without gradients.

Chronological clips (paper §4.2.3, adapted to a clip-parallel world model). A trajectory of
L = T + (K−1)·S frames (T = clip length, P = context frames, S = T − P new frames per clip) is cut into
K overlapping clips; clip k covers frames [k·S, k·S + T). Its first P frames are context, its last S are
targets (noised independently, scored). The context of clip 0 is the estimate of the noised ground truth;
the context of clip k > 0 is the window's share of what earlier clips estimated, so errors propagate from
clip to clip as they do when playing. Choices where the paper is silent:
- t for the estimate: per frame t ~ U[estimate_noise_min, estimate_noise_max] (default [0.5, 0.9]),
  in a separate no-grad pass over [context, targets noised at that t]; the training pass draws its own t.
- gradients of the K clips are accumulated (each loss scaled by 1/K) into one optimizer step.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch
from torch import Tensor, nn

from worldsim.diffusion.noise_levels import NoiseLevelConfig, RandomSource, draw
from worldsim.diffusion.rectified_flow import (
    add_noise,
    make_flow_batch,
    masked_velocity_loss,
    one_step_estimate,
)


def trajectory_length(clip_length: int, context_frames: int, num_clips: int) -> int:
    """Frames needed for `num_clips` clips of `clip_length` advancing by clip_length − context_frames."""
    return clip_length + (num_clips - 1) * (clip_length - context_frames)


def _estimate_levels(shape: tuple[int, int], low: float, high: float, generator: RandomSource,
                     device: torch.device) -> Tensor:
    u = draw(generator, shape, torch.rand, device)
    return (low + (high - low) * u).to(device)


@torch.no_grad()
def estimate_frames(
    model: nn.Module, context: Tensor | None, clean: Tensor, discrete: Tensor | None,
    continuous: Tensor | None, low: float, high: float, generator: RandomSource = None,
) -> Tensor:
    """One-step estimates x̃ of `clean` (B, S, 3, H, W) noised at t ~ U[low, high], given `context`
    (B, P, 3, H, W, fed clean) before it. Actions cover context + clean frames."""
    levels = _estimate_levels(clean.shape[:2], low, high, generator, clean.device)
    noise = draw(generator, tuple(clean.shape), torch.randn, clean.device).to(clean.device, clean.dtype)
    noisy = add_noise(clean, noise, levels)
    if context is not None:
        frames = torch.cat([context, noisy], 1)
        all_levels = torch.cat([torch.ones(context.shape[:2], device=clean.device), levels], 1)
    else:
        frames, all_levels = noisy, levels
    velocity = model(frames, all_levels, discrete, continuous)[:, -clean.shape[1]:]
    return one_step_estimate(noisy, velocity.to(noisy.dtype), levels).clamp(-1.0, 1.0)


def direct_forcing_backward(
    model: nn.Module, estimator: nn.Module, clean: Tensor, discrete: Tensor | None, continuous: Tensor | None,
    clip_length: int, context_frames: int, num_clips: int, noise: NoiseLevelConfig, estimate_range: tuple[float, float],
    backward: Callable[[Tensor], None], generator: RandomSource = None,
    sync: Callable[[bool], AbstractContextManager] = lambda last: nullcontext(),
) -> float:
    """Accumulate gradients of `num_clips` chronological clips of the trajectories `clean` (B, L, 3, H, W).

    `model` is the trained (maybe DDP-wrapped) module, `estimator` the plain module for no-grad passes,
    `backward(loss)` runs the backward pass (with autocast/scaling as the trainer needs), `sync(is_last)`
    is DDP's no_sync for all but the last clip. Returns the mean loss over clips.
    """
    stride = clip_length - context_frames
    needed = trajectory_length(clip_length, context_frames, num_clips)
    if clean.shape[1] < needed:
        raise ValueError(f"direct forcing: {num_clips} clips need {needed} frames, trajectory has {clean.shape[1]}")
    low, high = estimate_range

    def actions(start: int, stop: int) -> tuple[Tensor | None, Tensor | None]:
        return (None if discrete is None else discrete[:, start:stop],
                None if continuous is None else continuous[:, start:stop])

    context = estimate_frames(estimator, None, clean[:, :context_frames], *actions(0, context_frames),
                              low, high, generator)
    context_mask = torch.zeros(clean.shape[0], clip_length, dtype=torch.bool, device=clean.device)
    context_mask[:, :context_frames] = True
    total = 0.0
    for k in range(num_clips):
        start = k * stride
        targets = clean[:, start + context_frames: start + clip_length]
        clip_d, clip_c = actions(start, start + clip_length)
        with sync(k == num_clips - 1):
            batch = make_flow_batch(torch.cat([context, targets], 1), noise, generator, context=context_mask)
            loss = masked_velocity_loss(model(batch.noisy, batch.noise_levels, clip_d, clip_c), batch)
            backward(loss / num_clips)
        total += float(loss.detach())
        if k + 1 < num_clips:
            estimated = estimate_frames(estimator, context, targets, clip_d, clip_c, low, high, generator)
            context = torch.cat([context, estimated], 1)[:, stride:]
    return total / num_clips
