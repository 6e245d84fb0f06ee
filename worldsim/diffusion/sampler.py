"""Frame-by-frame generation: Euler integration of the rectified flow from noise (t = 0) to data (t = 1).

generate_frame = frame_noise (every random draw of a frame, in the order the integration uses them) +
denoise_frame (deterministic given that noise): the part a caller may compile or capture as a CUDA graph
while drawing the noise from any generator.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


@torch.no_grad()
def generate_frame(
    model: nn.Module, state: Any, discrete: Tensor | None, continuous: Tensor | None, steps: int,
    generator: torch.Generator | None = None, commit_noise_level: float = 1.0,
) -> Tensor:
    """Generate the next frame (B, 3, H, W) in [-1, 1] and commit it to `state`.

    `steps` calls of model.step(..., commit=False) integrate dx/dt = v on a uniform grid of t from 0 to 1;
    a last model.step(..., commit=True) writes the finished frame into `state`, re-noised to
    `commit_noise_level` (1.0 = clean; slightly below 1 makes the context robust to its own errors,
    the diffusion-forcing trick). Actions: discrete (B,) int64, continuous (B, C).
    """
    check_sampling(steps, commit_noise_level)
    noise, commit_noise = frame_noise(model, _batch_size(discrete, continuous), generator, commit_noise_level)
    return denoise_frame(model, state, noise, commit_noise, discrete, continuous, steps, commit_noise_level)


def check_sampling(steps: int, commit_noise_level: float) -> None:
    if steps < 1:
        raise ValueError(f"generate_frame: steps must be >= 1, got {steps}")
    if not 0.0 <= commit_noise_level <= 1.0:
        raise ValueError(f"generate_frame: commit_noise_level must be in [0, 1], got {commit_noise_level}")


def frame_noise(
    model: nn.Module, batch: int, generator: torch.Generator | None, commit_noise_level: float
) -> tuple[Tensor, Tensor | None]:
    """The start of the integration (B, 3, H, W) and, when commit_noise_level < 1, the noise that re-noises
    the committed frame (else None), fp32 on the model's device, drawn from `generator` (None: the device's
    default generator) in that order."""
    height, width = _frame_size(model)
    device = _device(model)
    gen_device = generator.device if generator is not None else device
    shape = (batch, 3, height, width)
    noise = torch.randn(shape, generator=generator, device=gen_device, dtype=torch.float32).to(device)
    if commit_noise_level >= 1.0:
        return noise, None
    return noise, torch.randn(shape, generator=generator, device=gen_device, dtype=torch.float32).to(device)


@torch.no_grad()
def denoise_frame(
    model: nn.Module, state: Any, noise: Tensor, commit_noise: Tensor | None, discrete: Tensor | None,
    continuous: Tensor | None, steps: int, commit_noise_level: float = 1.0,
) -> Tensor:
    """From `noise` (B, 3, H, W) to the frame in [-1, 1], committed to `state` (re-noised with
    `commit_noise` when commit_noise_level < 1). No random draws and no host syncs: torch.compile traces it
    as one graph with static shapes, and a CUDA graph can capture it."""
    batch = noise.shape[0]
    dtype = torch.float32
    frame = noise
    grid = torch.linspace(0.0, 1.0, steps + 1, device=noise.device)
    step_sizes = torch.diff(grid)  # one kernel for all steps (the same fp32 differences)
    for i in range(steps):
        level = grid[i].expand(batch)
        velocity = model.step(frame, level, discrete, continuous, state, commit=False)
        frame = frame + step_sizes[i] * velocity.to(dtype)
    frame = frame.clamp(-1.0, 1.0)
    committed = frame
    if commit_noise_level < 1.0:
        committed = commit_noise_level * frame + (1.0 - commit_noise_level) * commit_noise
    commit_level = torch.full((batch,), commit_noise_level, device=noise.device)
    model.step(committed, commit_level, discrete, continuous, state, commit=True)
    return frame


def _frame_size(model: nn.Module) -> tuple[int, int]:
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "image_height"):
        raise ValueError("generate_frame: model needs a .config with image_height and image_width")
    return int(config.image_height), int(config.image_width)


def _batch_size(discrete: Tensor | None, continuous: Tensor | None) -> int:
    for actions in (discrete, continuous):
        if actions is not None:
            return int(actions.shape[0])
    raise ValueError("generate_frame: give discrete or continuous actions (both are None)")


def _device(model: nn.Module) -> torch.device:
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")
