"""Landmark billboards (spheres, pillars) composited over raycast frames, nearest landmark per pixel.

The caller (`Raycaster`) projects the landmarks and culls the ones no column can show; this draws them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

EYE_HEIGHT = 0.5  # walls are 1 unit high; the camera sits halfway up
FOG_RATE = 0.1  # brightness falls as exp(-FOG_RATE · distance)


def composite_landmarks(
    depth: Tensor, safe_depth: Tensor, size: Tensor, dx2: Tensor, sphere: Tensor, colour: Tensor,
    spheres: int | None, frames: Tensor, row_y: Tensor, focal: float,
) -> Tensor:
    """Landmarks (B, L, ...) over frames uint8 (B, H, W, 3); `spheres` counts them (None: unknown).

    depth, safe_depth (B, L); size (B, L, 3) pixels (half width, centre height, half height); dx2 (B, L, W)
    squared horizontal offset in half widths (inf where occluded); sphere bool (B, L); colour (B, L, 3);
    row_y (H,) pixels below the horizon; focal in pixels.
    """
    batch, count = depth.shape
    centre_y = (safe_depth.reciprocal() * (EYE_HEIGHT * focal)).sub_(size[..., 1])  # below horizon
    dy = (row_y - centre_y[..., None]).div_(size[..., 2, None])  # (B, L, H)
    dx2, dy2, sphere = dx2[:, :, None], (dy * dy)[..., None], sphere[..., None, None]  # (B, L, 1|H, W|1)
    if spheres is None or 0 < spheres < sphere.numel():
        extent = torch.where(sphere, dx2 + dy2, torch.maximum(dx2, dy2))  # (B, L, H, W) < 1 inside
        profile = torch.where(sphere, extent, dx2)  # spheres shade by the 2-D profile, pillars by dx only
    else:
        extent = dx2 + dy2 if spheres else torch.maximum(dx2, dy2)
        profile = extent if spheres else dx2
    fog = torch.exp(-FOG_RATE * depth)  # (B, L)
    # 1 - profile > 0 wherever a landmark is drawn, so no clamp is needed before the sqrt.
    if count == 1:
        brightness = (1.0 - profile[:, 0]).sqrt_().mul_(0.65).add_(0.35).mul_(fog[..., None])  # (B,H|1,W)
        drawn = (colour[:, :, None] * brightness[..., None]).to(torch.uint8)  # (B, H|1, W, 3)
        return torch.where((extent[:, 0] >= 1.0)[..., None], frames, drawn)
    covered_depth = torch.where(extent >= 1.0, math.inf, depth[..., None, None])
    nearest_depth, nearest = covered_depth.min(1)  # (B, H, W)
    profile = torch.gather(profile.expand_as(extent), 1, nearest[:, None]).squeeze(1)
    nearest = nearest.view(batch, -1)
    fog = torch.gather(fog, 1, nearest).view_as(profile)
    brightness = (1.0 - profile).sqrt_().mul_(0.65).add_(0.35).mul_(fog)
    index = nearest + torch.arange(batch, device=frames.device)[:, None] * count
    drawn = colour.reshape(-1, 3).index_select(0, index.view(-1)).view_as(frames) * brightness[..., None]
    return torch.where(torch.isfinite(nearest_depth)[..., None], drawn.to(torch.uint8), frames)
