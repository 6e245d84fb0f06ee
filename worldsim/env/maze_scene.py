"""A batch of maze layouts as device tensors, the form the raycaster and the physics read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from worldsim.env.maze_layout import MazeLayout
from worldsim.env.textures import FLOOR_STYLE_OFFSET, landmark_palette


@dataclass(frozen=True)
class MazeScene:
    """B mazes of one grid size G, flattened per world so one gather reads any square."""

    grid_size: int
    solid: Tensor  # bool (B, G*G): wall squares, what rays hit
    blocked: Tensor  # bool (B, G*G): walls + landmark cells, what the agent collides with
    wall_texture: Tensor  # int64 (B, G*G): atlas index of each square's wall texture
    floor_texture: Tensor  # int64 (B, G*G): atlas index of each square's floor texture
    landmark_xy: Tensor  # float32 (B, L, 2): landmark centres (x, y)
    landmark_colour: Tensor  # float32 (B, L, 3) in [0, 255]
    landmark_is_sphere: Tensor  # bool (B, L)

    @property
    def batch_size(self) -> int:
        return self.solid.shape[0]

    @classmethod
    def from_layouts(cls, layouts: Sequence[MazeLayout], device: torch.device | str) -> MazeScene:
        sizes = {layout.grid_size for layout in layouts}
        if len(sizes) != 1:
            raise ValueError(f"all mazes of a batch need one grid size, got sizes {sorted(sizes)}")
        (grid_size,) = sizes
        colours, spheres = landmark_palette()
        kinds = np.stack([layout.landmark_kinds for layout in layouts])  # (B, L)
        squares = np.stack([layout.landmark_squares for layout in layouts])  # (B, L, 2) row, col
        landmark_xy = squares[..., ::-1].astype(np.float32) + 0.5

        def flat(name: str) -> np.ndarray:
            return np.stack([getattr(layout, name).reshape(-1) for layout in layouts])

        def put(array: np.ndarray) -> Tensor:
            return torch.from_numpy(np.ascontiguousarray(array)).to(device)

        return cls(
            grid_size=grid_size,
            solid=put(flat("solid")),
            blocked=put(np.stack([layout.blocked.reshape(-1) for layout in layouts])),
            wall_texture=put(flat("wall_style").astype(np.int64)),
            floor_texture=put(flat("floor_style").astype(np.int64) + FLOOR_STYLE_OFFSET),
            landmark_xy=put(landmark_xy),
            landmark_colour=put(colours[kinds]),
            landmark_is_sphere=put(spheres[kinds]),
        )
