"""First-person raycaster in PyTorch, batched over worlds and image columns (CPU or CUDA).

Per column a ray is tested against every grid line at once (no loop over steps): the nearest crossing
into a wall square gives the wall distance (already perpendicular, i.e. fish-eye corrected, because the
ray is dir + plane·x), the wall height and the texture coordinate. Floor and ceiling are cast per pixel;
landmarks are billboards (spheres, pillars) depth-tested against the wall distance of their column.
Technique after Lode Vandevenne's raycasting tutorial (lodev.org/cgtutor/raycasting.html).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from worldsim.env.maze_scene import MazeScene
from worldsim.env.textures import CEILING_TEXTURE, TEXTURE_SIZE, build_atlas

EYE_HEIGHT = 0.5  # walls are 1 unit high; the camera sits halfway up
FOG_RATE = 0.1  # brightness falls as exp(-FOG_RATE · distance)
SIDE_SHADE = 0.75  # faces seen along y (north/south) are darker, so corners read as corners
NEAR = 0.05  # landmarks closer than this are not drawn
# Landmark billboard sizes in world units: (half width, centre height, half height).
SPHERE_SHAPE = (0.28, 0.32, 0.28)
PILLAR_SHAPE = (0.2, 0.45, 0.45)


class Raycaster:
    """Renders poses in a `MazeScene` to uint8 frames (B, H, W, 3). Everything per resolution is precomputed."""

    def __init__(self, height: int, width: int, fov_deg: float, grid_size: int, device: torch.device | str):
        if height < 2 or width < 2:
            raise ValueError(f"frame size must be at least 2×2, got {height}×{width}")
        if not 10.0 <= fov_deg <= 170.0:
            raise ValueError(f"field of view must be in [10, 170] degrees, got {fov_deg}")
        self.height, self.width, self.grid_size = height, width, grid_size
        self.device = torch.device(device)
        f32 = {"device": self.device, "dtype": torch.float32}
        self.tan_half_fov = math.tan(math.radians(fov_deg) / 2.0)
        self.focal = (width / 2.0) / self.tan_half_fov  # pixels per unit at distance 1
        self.camera_x = (torch.arange(width, **f32) + 0.5) * (2.0 / width) - 1.0  # (W,) in [-1, 1]
        self.column_x = torch.arange(width, **f32) + 0.5  # (W,) pixel centres
        self.row_y = torch.arange(height, **f32) + 0.5 - height / 2.0  # (H,) pixels below the horizon
        self.row_distance = self.focal * EYE_HEIGHT / self.row_y.abs()  # (H,) floor/ceiling distance
        self.row_fog = torch.exp(-FOG_RATE * self.row_distance)  # (H,)
        self.is_floor_row = self.row_y > 0  # (H,)
        self.lines = torch.arange(grid_size + 1, **f32)  # (G+1,) grid line coordinates
        self.line_index = self.lines.long()
        # (2, 1) strides turning (index along the line axis, index along the other axis) into row·G + col.
        self.stride_along_axis = torch.tensor([[1], [grid_size]], device=self.device)
        self.stride_other_axis = torch.tensor([[grid_size], [1]], device=self.device)
        self.atlas = torch.from_numpy(build_atlas()).to(self.device).reshape(-1, 3)  # (K·S·S, 3)
        shapes = torch.tensor([PILLAR_SHAPE, SPHERE_SHAPE], **f32)  # (2, 3)
        self.landmark_shapes = shapes

    @torch.no_grad()
    def render(self, scene: MazeScene, pose: Tensor) -> Tensor:
        """pose float (B, 3) = (x, y, yaw) → frames uint8 (B, H, W, 3)."""
        if scene.grid_size != self.grid_size:
            raise ValueError(f"scene grid size {scene.grid_size} != raycaster grid size {self.grid_size}")
        position = pose[:, :2]  # (B, 2)
        cos, sin = pose[:, 2].cos(), pose[:, 2].sin()
        facing = torch.stack([cos, sin], dim=-1)  # (B, 2)
        right = torch.stack([-sin, cos], dim=-1)  # (B, 2); yaw grows clockwise on the y-down map
        ray = facing[:, None] + right[:, None] * (self.camera_x[None, :, None] * self.tan_half_fov)  # (B, W, 2)
        ray = torch.where(ray.abs() < 1e-6, torch.full_like(ray, 1e-6), ray)
        distance, wall_index, wall_shade = self._cast_walls(scene, position, ray)
        frames = self._shade_walls_floor_ceiling(scene, position, ray, distance, wall_index, wall_shade)
        if scene.landmark_xy.shape[1]:
            frames = self._draw_landmarks(scene, position, facing, right, distance, frames)
        return frames.to(torch.uint8)

    def _cast_walls(self, scene: MazeScene, position: Tensor, ray: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Per column: wall distance (B, W), atlas base index incl. u (B, W), wall shade (B, W)."""
        batch, width = ray.shape[:2]
        grid = self.grid_size
        # Crossings of each ray with the lines x = k (axis 0) and y = k (axis 1): (B, W, 2, G+1).
        t = (self.lines - position[:, None, :, None]) / ray[..., None]
        along = position.flip(-1)[:, None, :, None] + t * ray.flip(-1)[..., None]
        index_along_axis = (self.line_index - (ray < 0).long()[..., None]).clamp(0, grid - 1)
        index_other_axis = along.floor().long().clamp(0, grid - 1)
        square = index_along_axis * self.stride_along_axis + index_other_axis * self.stride_other_axis
        hit = torch.gather(scene.solid, 1, square.reshape(batch, -1)).reshape(t.shape) & (t > 0)
        t_hit = torch.where(hit, t, torch.full_like(t, math.inf)).reshape(batch, width, -1)
        distance, nearest = t_hit.min(-1)  # (B, W)
        side = nearest // (grid + 1)  # 0: face of an x-line, 1: face of a y-line
        hit_square = torch.gather(square.reshape(batch, width, -1), 2, nearest[..., None])[..., 0]
        u = torch.gather(along.reshape(batch, width, -1), 2, nearest[..., None])[..., 0].frac()
        # Mirror u on two of the four faces so textures read the same way on every wall.
        flip = torch.where(side == 0, ray[..., 0] > 0, ray[..., 1] < 0)
        u = torch.where(flip, 1.0 - u, u)
        u_index = (u * TEXTURE_SIZE).long().clamp(0, TEXTURE_SIZE - 1)
        texture = torch.gather(scene.wall_texture, 1, hit_square)  # (B, W)
        distance = distance.clamp(min=1e-3)
        shade = torch.exp(-FOG_RATE * distance) * torch.where(side == 0, 1.0, SIDE_SHADE)
        return distance, texture * (TEXTURE_SIZE * TEXTURE_SIZE) + u_index, shade

    def _shade_walls_floor_ceiling(
        self,
        scene: MazeScene,
        position: Tensor,
        ray: Tensor,
        distance: Tensor,
        wall_index: Tensor,
        wall_shade: Tensor,
    ) -> Tensor:
        """float (B, H, W, 3) in [0, 255]: textured walls, floor (region tint) and ceiling."""
        batch = ray.shape[0]
        size, grid = TEXTURE_SIZE, self.grid_size
        half_height = (self.focal * EYE_HEIGHT / distance)[:, None, :]  # (B, 1, W) pixels
        row_y = self.row_y[None, :, None]  # (1, H, 1)
        is_wall = row_y.abs() < half_height  # (B, H, W)
        v = (row_y + half_height) / (2.0 * half_height)
        v_index = (v * size).long().clamp(0, size - 1)
        wall_pixel = wall_index[:, None, :] + v_index * size  # (B, H, W)
        # Floor point under each pixel (the ceiling mirrors it): (B, H, W) world coordinates.
        row_distance = self.row_distance[None, :, None]
        floor_x = position[:, 0, None, None] + row_distance * ray[:, None, :, 0]
        floor_y = position[:, 1, None, None] + row_distance * ray[:, None, :, 1]
        cell_x, cell_y = floor_x.floor(), floor_y.floor()
        floor_square = (cell_y * grid + cell_x).long().clamp(0, grid * grid - 1)
        floor_texture = torch.gather(scene.floor_texture, 1, floor_square.reshape(batch, -1)).view_as(floor_square)
        texture = torch.where(self.is_floor_row[None, :, None], floor_texture, CEILING_TEXTURE)
        floor_u = ((floor_x - cell_x) * size).long().clamp(0, size - 1)
        floor_v = ((floor_y - cell_y) * size).long().clamp(0, size - 1)
        floor_pixel = texture * (size * size) + floor_v * size + floor_u
        pixel = torch.where(is_wall, wall_pixel, floor_pixel)
        shade = torch.where(is_wall, wall_shade[:, None, :], self.row_fog[None, :, None])
        texels = self.atlas.index_select(0, pixel.reshape(-1)).view(*pixel.shape, 3)  # faster than atlas[pixel]
        return texels * shade[..., None]

    def _draw_landmarks(
        self,
        scene: MazeScene,
        position: Tensor,
        facing: Tensor,
        right: Tensor,
        distance: Tensor,
        frames: Tensor,
    ) -> Tensor:
        """Overlay landmark billboards on frames float (B, H, W, 3), nearest landmark per pixel wins."""
        batch, count = scene.landmark_xy.shape[:2]
        relative = scene.landmark_xy - position[:, None]  # (B, L, 2)
        depth = (relative * facing[:, None]).sum(-1)  # (B, L)
        lateral = (relative * right[:, None]).sum(-1)
        safe_depth = depth.clamp(min=NEAR)
        shape = self.landmark_shapes[scene.landmark_is_sphere.long()]  # (B, L, 3)
        half_width, centre_height, half_height = (shape[..., k] * self.focal / safe_depth for k in range(3))
        centre_x = self.width / 2.0 + self.focal * lateral / safe_depth
        centre_y = (EYE_HEIGHT * self.focal / safe_depth) - centre_height  # pixels below the horizon
        dx = (self.column_x - centre_x[..., None]) / half_width[..., None]  # (B, L, W)
        dy = (self.row_y - centre_y[..., None]) / half_height[..., None]  # (B, L, H)
        in_front = (depth[..., None] > NEAR) & (depth[..., None] < distance[:, None, :])  # (B, L, W)
        sphere, colours = scene.landmark_is_sphere, scene.landmark_colour
        if frames.device.type == "cpu":
            # Cull landmarks no pixel can show (every shape needs |dx| < 1 in an unoccluded column). Exact,
            # so frames do not change; it needs a host sync, which is free on the CPU but not on a GPU.
            keep = (in_front & (dx.abs() < 1.0)).any(-1).any(0).nonzero()[:, 0]  # (L',)
            if keep.numel() == 0:
                return frames
            if keep.numel() < count:
                depth, dx, dy, in_front = depth[:, keep], dx[:, keep], dy[:, keep], in_front[:, keep]
                sphere, colours, count = sphere[:, keep], colours[:, keep], keep.numel()
        dx2 = (dx * dx).masked_fill(~in_front, math.inf)[:, :, None, :]  # (B, L, 1, W)
        dy2 = (dy * dy)[..., None]  # (B, L, H, 1)
        sphere = sphere[..., None, None]
        extent = torch.where(sphere, dx2 + dy2, torch.maximum(dx2, dy2))  # (B, L, H, W) < 1 inside
        covered_depth = depth[..., None, None].expand_as(extent).masked_fill(extent >= 1.0, math.inf)
        nearest_depth, nearest = covered_depth.min(1)  # (B, H, W)
        # Spheres shade by their 2-D profile, pillars (cylinders) by the horizontal one only.
        profile = torch.where(sphere, extent, dx2)
        profile = torch.gather(profile, 1, nearest[:, None]).squeeze(1)
        brightness = (0.35 + 0.65 * (1.0 - profile).clamp(min=0.0).sqrt()) * torch.exp(-FOG_RATE * nearest_depth)
        batch_offset = torch.arange(batch, device=frames.device)[:, None, None] * count
        colour = colours.reshape(-1, 3).index_select(0, (batch_offset + nearest).reshape(-1)).view_as(frames)
        covered = torch.isfinite(nearest_depth)[..., None]
        return torch.where(covered, colour * brightness[..., None], frames)
