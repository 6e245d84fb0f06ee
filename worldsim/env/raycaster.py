"""First-person raycaster in PyTorch, batched over worlds and image columns (CPU or CUDA).

Per column a ray is tested against every grid line at once (no loop over steps): the nearest crossing
into a wall square gives the wall distance (already perpendicular, i.e. fish-eye corrected, because the
ray is dir + plane·x), the wall height and the texture coordinate. Floor and ceiling are cast per pixel
(the ceiling mirrors the floor rows); landmarks are billboards (spheres, pillars) depth-tested against
the wall distance of their column. Technique after Lode Vandevenne's raycasting tutorial
(lodev.org/cgtutor/raycasting.html).

A 64×64 frame is ~70 small tensor ops, so per-op overhead is the cost: what does not depend on the pose is
precomputed per resolution, batch size or scene, and the float arithmetic is kept op for op (frames stay
bit-identical). Texels are looked up shaded and as uint8: floor and ceiling per row (their fog depends on
the row only), walls per frame for the texels of each hit column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from worldsim.env import textures
from worldsim.env.landmarks import EYE_HEIGHT, FOG_RATE, composite_landmarks
from worldsim.env.maze_scene import MazeScene
from worldsim.env.textures import TEXTURE_SIZE

SIDE_SHADE = 0.75  # faces seen along y (north/south) are darker, so corners read as corners
NEAR = 0.05  # landmarks closer than this are not drawn
# Landmark billboard sizes in world units: (half width, centre height, half height).
SPHERE_SHAPE = (0.28, 0.32, 0.28)
PILLAR_SHAPE = (0.2, 0.45, 0.45)
TEXELS = TEXTURE_SIZE * TEXTURE_SIZE
TEXEL_SHIFT = TEXTURE_SIZE.bit_length() - 1
assert TEXTURE_SIZE == 1 << TEXEL_SHIFT, "texel arithmetic uses shifts and exact scalings by TEXTURE_SIZE"


@dataclass(frozen=True)
class _SceneTables:
    """Lookups derived from one `MazeScene` (scenes are immutable), expanded to the shapes gathers need."""

    solid: Tensor  # bool (B, 2, G+1, G*G): wall squares
    near_landmark: Tensor  # bool (B, 2, G+1, G*G): landmark squares and their 4-neighbours
    wall_base: Tensor  # int64 (B, 1, G*G): wall texture · S, its u = 0 row in `wall_columns`
    floor_base: Tensor  # int64 (B, H//2, G*G): (floor style + 1) · S², its slot in a floor table row
    shape_focal: Tensor  # float32 (B, L, 3): (half width, centre height, half height) · focal


@dataclass(frozen=True)
class _Scalars:
    """0-d tensors for per-frame ops, which would wrap a Python number into a new tensor on every call."""

    zero: Tensor
    one: Tensor
    tiny: Tensor  # ray components closer to 0 than this are set to it
    behind: Tensor  # -1.5: within √2 behind the camera (the landmark cull)
    inf: Tensor
    texture_size: Tensor
    fog: Tensor  # -FOG_RATE
    side_shade: Tensor
    eye_focal: Tensor  # focal · EYE_HEIGHT
    v_scale: Tensor  # 2 / S
    grid: Tensor  # int64 from here on
    shift: Tensor  # log2 S
    texel_mask: Tensor  # S - 1


class Raycaster:
    """Renders poses in a `MazeScene` to uint8 frames (B, H, W, 3); not for concurrent calls (buffers)."""

    def __init__(self, height: int, width: int, fov_deg: float, grid_size: int, device: torch.device | str):
        if height < 2 or width < 2:
            raise ValueError(f"frame size must be at least 2×2, got {height}×{width}")
        if not 10.0 <= fov_deg <= 170.0:
            raise ValueError(f"field of view must be in [10, 170] degrees, got {fov_deg}")
        self.height, self.width, self.grid_size = height, width, grid_size
        self.device = device = torch.device(device)
        self.on_cpu = device.type == "cpu"  # landmarks are culled with host syncs, free on the CPU only
        f32 = {"device": device, "dtype": torch.float32}
        self.tan_half_fov = math.tan(math.radians(fov_deg) / 2.0)
        self.focal = (width / 2.0) / self.tan_half_fov  # pixels per unit at distance 1
        camera_x = (torch.arange(width, **f32) + 0.5) * (2.0 / width) - 1.0  # (W,) in [-1, 1]
        # Ray = facing + right · offset, facing = (cos, sin), right = (-sin, cos) (yaw grows clockwise on the
        # y-down map), as (x, y, y, x) = cos · ray_cos + sin · ray_sin, (4, 1, W) each: -x, x · 1 are exact.
        offset = camera_x * self.tan_half_fov
        ones = torch.ones_like(offset)
        self.ray_cos = torch.stack([ones, offset, offset, ones])[:, None]
        self.ray_sin = torch.stack([-offset, ones, ones, -offset])[:, None]
        self.column_x = torch.arange(width, **f32) + 0.5  # (W,) pixel centres
        self.row_y = torch.arange(height, **f32) + 0.5 - height / 2.0  # (H,) pixels below the horizon
        self.row_y_column = self.row_y[None, :, None]  # (1, H, 1)
        self.abs_row_y = self.row_y.abs()[None, :, None]
        row_distance = self.focal * EYE_HEIGHT / self.row_y.abs()  # (H,) floor/ceiling distance, symmetric
        # Rows below the horizon (row_y > 0); ceiling row i mirrors floor row H-1-i; an odd middle is wall.
        self.half = half = height // 2
        row_fog = torch.exp(-FOG_RATE * row_distance)[height - half :, None, None]  # (H//2, 1, 1)
        # (H//2, 1) · S: S·(p + d·ray) = S·p + (S·d)·ray exactly, S a power of two.
        self.floor_distance = row_distance[height - half :, None] * TEXTURE_SIZE
        self.mirror_rows = torch.arange(half - 1, -1, -1, device=device)  # floor rows → ceiling rows
        line = torch.arange(grid_size + 1, device=device)  # (G+1,) grid line indices
        self.lines = line.float()[:, None]  # (G+1, 1)
        # Square index from the line crossed, for rays going + / - along the axis: (2, G+1, 1).
        stride_along_axis = torch.tensor([[1], [grid_size]], device=device)
        self.line_square_ahead = (line.clamp(0, grid_size - 1) * stride_along_axis)[..., None]
        self.line_square_behind = ((line - 1).clamp(0, grid_size - 1) * stride_along_axis)[..., None]
        self.stride_other_axis = torch.tensor([[grid_size], [1]], device=device)[..., None]  # (2, 1, 1)
        atlas = torch.from_numpy(textures.build_atlas()).to(device)  # (K, S, S, 3): texture, v, u, rgb
        # (K_wall·S, S·3): wall texture k's column u at row k·S + u, its texels top (v = 0) to bottom.
        self.wall_columns = atlas[: textures.NUM_WALL_STYLES].transpose(1, 2).reshape(-1, TEXTURE_SIZE * 3)
        # uint8 (H//2 · (ceiling + floor styles) · S², 3): texel · fog of each floor row, the float product
        # each pixel's shading computes, truncated as the frame conversion does.
        ceiling, floors = textures.CEILING_TEXTURE, textures.FLOOR_STYLE_OFFSET
        floor_texels = torch.cat([atlas[ceiling, None], atlas[floors:ceiling]]).reshape(1, -1, 3)
        self.floor_table = (floor_texels * row_fog).to(torch.uint8).view(-1, 3)
        self.row_slot = (torch.arange(half, device=device) * floor_texels.shape[1])[:, None]  # (H//2, 1)
        self.landmark_shapes = torch.tensor([PILLAR_SHAPE, SPHERE_SHAPE], **f32)  # (2, 3)
        floats = (0.0, 1.0, 1e-6, -1.5, math.inf, TEXTURE_SIZE, -FOG_RATE, SIDE_SHADE)
        self.k = _Scalars(
            *(torch.tensor(value, **f32) for value in (*floats, self.focal * EYE_HEIGHT, 2.0 / TEXTURE_SIZE)),
            *(torch.tensor(value, device=device) for value in (grid_size, TEXEL_SHIFT, TEXTURE_SIZE - 1)),
        )
        self._scene: MazeScene | None = None
        self._tables: _SceneTables | None = None
        self._batch = 0  # batch size of the buffers below
        self._texel_table = self._wall_texels = self._wall_slot = self._pixel = torch.empty(0)
        self._ceiling_pixel = self._floor_pixel = torch.empty(0)

    @torch.no_grad()
    def render(self, scene: MazeScene, pose: Tensor) -> Tensor:
        """pose float (B, 3) = (x, y, yaw) → frames uint8 (B, H, W, 3)."""
        if scene.grid_size != self.grid_size:
            raise ValueError(f"scene grid size {scene.grid_size} != raycaster grid size {self.grid_size}")
        tables = self._scene_tables(scene)
        batch = pose.shape[0]
        if batch != self._batch:
            self._make_buffers(batch)
        position, yaw = pose.reshape(batch, 3, 1, 1).split_with_sizes([2, 1], 1)  # (B, 2, 1, 1), (B, 1, 1, 1)
        cos, sin = yaw.cos(), yaw.sin()
        rays = cos * self.ray_cos  # (B, 4, 1, W): (x, y) and flipped (y, x)
        rays += sin * self.ray_sin
        rays.masked_fill_(rays.abs() < self.k.tiny, 1e-6)
        ray, ray_flip = rays.split_with_sizes([2, 2], 1)
        distance, column, shade, crossings = self._cast_walls(tables, position, ray, ray_flip)
        frames = self._shade_walls_floor_ceiling(tables, position, ray, distance, column, shade)
        if scene.landmark_xy.shape[1]:
            frames = self._draw_landmarks(scene, tables, position, (cos, sin), distance, crossings, frames)
        return frames

    def _scene_tables(self, scene: MazeScene) -> _SceneTables:
        if scene is not self._scene or self._tables is None:
            batch, grid, squares = scene.batch_size, self.grid_size, scene.solid.shape[1]
            cell = scene.landmark_xy.long()  # (B, L, 2) x, y of each landmark's square
            near = torch.zeros(batch, grid + 2, grid + 2, dtype=torch.bool, device=self.device)  # padded
            for dx, dy in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)):
                index = (cell[..., 1] + 1 + dy) * (grid + 2) + cell[..., 0] + 1 + dx
                near.view(batch, -1).scatter_(1, index, True)
            crossings = (batch, 2, grid + 1, squares)
            floor_base = (scene.floor_texture + 1 - textures.FLOOR_STYLE_OFFSET) * TEXELS
            self._tables = _SceneTables(
                solid=scene.solid[:, None, None].expand(crossings),
                near_landmark=near[:, 1:-1, 1:-1].reshape(batch, 1, 1, squares).expand(crossings),
                wall_base=(scene.wall_texture * TEXTURE_SIZE)[:, None],
                floor_base=floor_base[:, None].expand(batch, self.half, squares),
                shape_focal=(self.landmark_shapes * self.focal)[scene.landmark_is_sphere.long()],
            )
            self._scene = scene  # held, so its id cannot be reused while cached
        return self._tables

    @torch.inference_mode(False)  # normal tensors: written in place inside and outside inference mode
    def _make_buffers(self, batch: int) -> None:
        """uint8 texel table: the floor table, then a slot of S wall texels per frame column (B·W); and the
        (B, H, W) pixel index buffer whose ceiling and floor rows are written in place."""
        start, slots, height, half = self.floor_table.shape[0], batch * self.width, self.height, self.half
        rows = start + slots * TEXTURE_SIZE
        self._texel_table = torch.empty(rows, 3, dtype=torch.uint8, device=self.device)
        self._texel_table[:start] = self.floor_table
        self._wall_texels = self._texel_table[start:].view(slots, TEXTURE_SIZE * 3)
        slot = torch.arange(slots, device=self.device).view(batch, 1, self.width)
        self._wall_slot = start + slot * TEXTURE_SIZE  # (B, 1, W) table row of texel v = 0 of each column
        self._pixel = torch.zeros(batch, height, self.width, dtype=torch.long, device=self.device)
        self._ceiling_pixel, self._floor_pixel = self._pixel[:, :half], self._pixel[:, height - half :]
        self._batch = batch

    def _cast_walls(
        self, tables: _SceneTables, position: Tensor, ray: Tensor, ray_flip: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, tuple[Tensor, Tensor]]:
        """position (B, 2, 1, 1), ray and ray_flip (B, 2, 1, W) → per column (B, 1, W): wall distance, the
        `wall_columns` row of the hit texel column, shade; and the crossings (square, t), (B, 2, G+1, W)."""
        batch, width, grid = ray.shape[0], self.width, self.grid_size
        # Crossings of each ray with the lines x = k (axis 0) and y = k (axis 1).
        t = (self.lines - position) / ray
        along = t * ray_flip
        along += position.flip(1)
        negative = ray < self.k.zero
        square = torch.where(negative, self.line_square_behind, self.line_square_ahead)
        # Truncation equals floor on every value the clamp keeps.
        square.addcmul_(along.long().clamp_(0, grid - 1), self.stride_other_axis)
        hit = torch.gather(tables.solid, 3, square)
        hit &= t > self.k.zero
        # Nearest crossing, the first of equals in (axis, line) order.
        distance, nearest = torch.where(hit, t, self.k.inf).view(batch, -1, width).min(1, keepdim=True)
        side = nearest > self.k.grid  # False: face of an x-line, True: of a y-line
        hit_square = torch.gather(square.view(batch, -1, width), 1, nearest)
        u = torch.gather(along.view(batch, -1, width), 1, nearest).frac_()
        # Mirror u on two of the four faces so textures read the same way on every wall (ray is never 0).
        negative_x, negative_y = negative.unbind(1)
        u = torch.where(torch.where(side, negative_y, ~negative_x), self.k.one - u, u)
        u_index = (u * self.k.texture_size).long().clamp_(0, TEXTURE_SIZE - 1)
        column = torch.gather(tables.wall_base, 2, hit_square).add_(u_index)
        fog = torch.exp(distance.clamp_(min=1e-3) * self.k.fog)
        return distance, column, torch.where(side, fog * self.k.side_shade, fog), (square, t)

    def _shade_walls_floor_ceiling(
        self, tables: _SceneTables, position: Tensor, ray: Tensor, distance: Tensor, column: Tensor,
        shade: Tensor,
    ) -> Tensor:
        """uint8 (B, H, W, 3): textured walls, floor (region tint) and ceiling."""
        batch, height, width, grid = ray.shape[0], self.height, self.width, self.grid_size
        half_height = distance.reciprocal() * self.k.eye_focal  # (B, 1, W) = focal·eye/d
        is_wall = self.abs_row_y < half_height  # (B, H, W)
        # v·S = (row_y + h) / (2h) · S, computed as (row_y + h) / (h · 2/S): equal, S is a power of two.
        wall_v = self.row_y_column + half_height
        wall_v /= half_height * self.k.v_scale
        wall_pixel = wall_v.long().clamp_(0, TEXTURE_SIZE - 1).add_(self._wall_slot)
        wall = self.wall_columns.index_select(0, column.view(-1))  # (B·W, S·3) texels of each hit column
        wall *= shade.view(-1, 1)
        self._wall_texels.copy_(wall)  # truncates to uint8 like the frame conversion
        # Floor point (x, y) under each pixel below the horizon, in texels: (B, 2, H//2, W).
        floor = self.floor_distance * ray  # S · (floor point - p)
        floor += position * self.k.texture_size
        texel = floor.floor_().long()  # S·floor(x) + u, exactly
        cell_x, cell_y = (texel >> self.k.shift).unbind(1)
        square = torch.add(cell_x, cell_y, alpha=grid).clamp_(0, grid * grid - 1)  # (B, H//2, W)
        texel &= self.k.texel_mask
        u, v = texel.unbind(1)
        offset = torch.add(self.row_slot, v, alpha=TEXTURE_SIZE)  # row slot + v·S + u
        offset += u
        torch.index_select(offset, 1, self.mirror_rows, out=self._ceiling_pixel)  # ceiling: slot 0 of a row
        torch.add(torch.gather(tables.floor_base, 2, square), offset, out=self._floor_pixel)
        pixel = torch.where(is_wall, wall_pixel, self._pixel)  # an odd middle row stays 0: it is all wall
        return self._texel_table.index_select(0, pixel.view(-1)).view(batch, height, width, 3)

    def _draw_landmarks(
        self, scene: MazeScene, tables: _SceneTables, position: Tensor, trig: tuple[Tensor, Tensor],
        distance: Tensor, crossings: tuple[Tensor, Tensor], frames: Tensor,
    ) -> Tensor:
        """Overlay landmark billboards on frames uint8 (B, H, W, 3), nearest landmark per pixel wins."""
        batch = frames.shape[0]
        if self.on_cpu:
            # A drawn billboard point lies inside its landmark's square, so its ray enters that square before
            # the wall; from inside or on the square, it left it at most √2 behind the camera. Either crossing
            # is listed with that square or, through a corner, a 4-neighbour.
            square, t = crossings
            seen = torch.gather(tables.near_landmark, 3, square)
            seen &= t > self.k.behind
            seen &= t < distance.unsqueeze(1)
            if not bool(seen.any()):
                return frames
        cos, sin = trig  # (B, 1, 1, 1) each
        basis = torch.cat([cos, sin, -sin, cos], 1).view(batch, 2, 2)  # facing, right
        relative = scene.landmark_xy - position.view(batch, 1, 2)  # (B, L, 2)
        depth, lateral = (relative[:, :, None] * basis[:, None]).sum(-1).unbind(-1)  # (B, L) each
        safe_depth = depth.clamp(min=NEAR)
        size = tables.shape_focal / safe_depth[..., None]  # (B, L, 3) pixels
        centre_x = (self.focal * lateral).div_(safe_depth).add_(self.width / 2.0)
        dx = (self.column_x - centre_x[..., None]).div_(size[..., 0, None])  # (B, L, W)
        in_front = (depth > NEAR)[..., None] & (depth[..., None] < distance)  # (B, L, W)
        dx2 = torch.where(in_front, dx * dx, math.inf)
        landmarks = [depth, safe_depth, size, dx2, scene.landmark_is_sphere, scene.landmark_colour]
        if not self.on_cpu:
            return composite_landmarks(*landmarks, None, frames, self.row_y, self.focal)
        # Exact cull: every shape needs dx² < 1 in an unoccluded column. Only the worlds that show one are
        # drawn; each keeps its visible landmarks in order, padded to the largest count with hidden ones
        # (which cover no pixel: their dx² ≥ 1 everywhere).
        visible = (dx2 < 1.0).any(2)  # (B, L)
        kept = int(visible.sum(1).max())
        if kept == 0:
            return frames
        rows = visible.any(1).nonzero()[:, 0]
        if rows.numel() < batch:
            landmarks, visible = [x.index_select(0, rows) for x in landmarks], visible.index_select(0, rows)
        if kept < visible.shape[1]:
            order = torch.sort(visible.to(torch.uint8), dim=1, descending=True, stable=True)[1][:, :kept]
            landmarks = [x.gather(1, order.view(*order.shape, *[1] * (x.dim() - 2)).expand_as(x[:, :kept]))
                         for x in landmarks]
        if rows.numel() == batch:
            return composite_landmarks(*landmarks, int(landmarks[4].sum()), frames, self.row_y, self.focal)
        drawn = composite_landmarks(*landmarks, int(landmarks[4].sum()), frames.index_select(0, rows),
                                    self.row_y, self.focal)
        return frames.index_copy_(0, rows, drawn)
