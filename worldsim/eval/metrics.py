"""Per-frame quality metrics on frames (..., 3, H, W) in [-1, 1]: PSNR, SSIM, sharpness, drift."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def psnr(prediction: Tensor, target: Tensor) -> Tensor:
    """Per-frame PSNR in dB (peak-to-peak 2) -> shape (...)."""
    mse = (prediction.float() - target.float()).pow(2).mean(dim=(-3, -2, -1)).clamp_min(1e-10)
    return 10.0 * torch.log10(4.0 / mse)


def ssim(prediction: Tensor, target: Tensor, window: int = 7, sigma: float = 1.5) -> Tensor:
    """Per-frame SSIM (Wang et al. 2004, Gaussian window; 7 px suits 64x64 frames) averaged over channels
    and valid positions -> shape (...)."""
    lead = prediction.shape[:-3]
    x = (prediction.float().reshape(-1, *prediction.shape[-3:]) + 1.0) / 2.0  # (N, 3, H, W) in [0, 1]
    y = (target.float().reshape(-1, *target.shape[-3:]) + 1.0) / 2.0
    coords = torch.arange(window, dtype=torch.float32, device=x.device) - (window - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).expand(x.shape[1], 1, window, window)

    def blur(image: Tensor) -> Tensor:
        return F.conv2d(image, kernel, groups=image.shape[1])

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    score = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return score.mean(dim=(-3, -2, -1)).reshape(lead)


def sharpness(frames: Tensor) -> Tensor:
    """Mean absolute Laplacian response per frame -> shape (...): blur lowers it (seed 2's drift measure)."""
    x = frames.float().reshape(-1, *frames.shape[-3:])
    laplacian = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], device=x.device)
    kernel = laplacian.expand(x.shape[1], 1, 3, 3)
    return F.conv2d(x, kernel, groups=x.shape[1]).abs().mean(dim=(-3, -2, -1)).reshape(frames.shape[:-3])


def drift(per_frame: Tensor, share: float = 0.15) -> float:
    """Seed 2's drift |M(first share of frames) − M(last share)| of a per-frame metric (..., T), frames last."""
    frames = per_frame.shape[-1]
    span = max(1, round(share * frames))
    return float((per_frame[..., :span].mean() - per_frame[..., -span:].mean()).abs())


def paired_difference(candidate: Tensor, reference: Tensor) -> tuple[float, float]:
    """Two checkpoints' scores on the same clips (N,) -> the mean of candidate − reference and its standard
    error (0 for one clip): a difference within about two standard errors of 0 is not yet a difference."""
    difference = candidate.double() - reference.double()
    count = difference.numel()
    error = float(difference.std(correction=1) / count**0.5) if count > 1 else 0.0
    return float(difference.mean()), error
