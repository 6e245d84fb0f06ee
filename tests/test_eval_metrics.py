"""Frame metrics: PSNR, SSIM, sharpness and drift behave as their definitions say."""

from __future__ import annotations

import math

import pytest
import torch

from worldsim.eval.metrics import drift, psnr, sharpness, ssim


def test_psnr_and_ssim_of_identical_and_different_frames() -> None:
    generator = torch.Generator().manual_seed(0)
    frames = torch.rand(2, 5, 3, 16, 16, generator=generator) * 2 - 1
    assert ssim(frames, frames).shape == (2, 5)
    assert torch.allclose(ssim(frames, frames), torch.ones(2, 5), atol=1e-5)
    noisy = (frames + 0.5 * torch.randn(frames.shape, generator=generator)).clamp(-1, 1)
    assert bool((ssim(noisy, frames) < 0.8).all())
    assert float(psnr(frames + 0.1, frames).mean()) == pytest.approx(10 * math.log10(4 / 0.01), rel=1e-4)


def test_sharpness_falls_with_blur_and_drift_compares_the_ends() -> None:
    frames = torch.rand(1, 3, 32, 32) * 2 - 1
    blurred = torch.nn.functional.avg_pool2d(frames, 3, stride=1, padding=1)
    assert float(sharpness(blurred)) < 0.5 * float(sharpness(frames))
    per_frame = torch.cat([torch.full((2, 15), 20.0), torch.full((2, 70), 18.0), torch.full((2, 15), 12.0)], dim=1)
    assert drift(per_frame) == pytest.approx(8.0)
