"""`MazeWorld`: a batch of first-person 3D mazes implementing the `World` protocol.

Units: the maze is a G×G grid of unit squares (G = 2·size + 1, see maze_layout); a pose (x, y, yaw) is in
those units, x along columns, y along rows (down on the map), yaw in radians with yaw 0 facing +x and
positive yaw turning right (clockwise on the map). `info["cell"]` is the (row, col) square the agent is in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from worldsim.actions import maze_action_space
from worldsim.env.maze_layout import MazeLayout, generate_layout
from worldsim.env.maze_physics import MazePhysics
from worldsim.env.maze_scene import MazeScene
from worldsim.env.raycaster import Raycaster

MAX_MAZE_SIZE = 100  # cells per side: 201x201 grid squares, 0.5 s to generate on one CPU core
MAX_FRAME_SIDE = 4096  # pixels


@dataclass
class MazeConfig:
    """The built-in maze world. Distances in grid squares, angles in radians unless named `_deg`."""

    size: int = 9  # maze cells per side (DeepMind Memory Maze 9×9), at most MAX_MAZE_SIZE
    height: int = 64  # frame height in pixels
    width: int = 64  # frame width in pixels
    fov_deg: float = 90.0  # horizontal field of view
    continuous_yaw: bool = True  # add the continuous action "yaw_delta_rad" (mouse look)
    move_speed: float = 0.15  # squares per step, forward/backward/strafe
    turn_speed: float = 0.2  # radians per step for the discrete turn actions
    agent_radius: float = 0.2  # half-size of the agent's collision square
    loop_fraction: float = 0.15  # share of interior walls removed after carving, to make loops
    num_regions: int = 4  # regions with their own wall/floor style
    num_landmarks: int = 6  # coloured spheres/pillars, each a distinct colour

    def __post_init__(self) -> None:
        # bounded: a size read from a damaged file (e.g. 100001) would allocate tens of GiB
        if not 2 <= self.size <= MAX_MAZE_SIZE:
            raise ValueError(f"maze size must be in [2, {MAX_MAZE_SIZE}] cells, got {self.size}")
        if not 0.0 < self.agent_radius < 0.5:
            raise ValueError(f"agent_radius must be in (0, 0.5) squares, got {self.agent_radius}")
        if not 0.0 < self.move_speed <= 0.5:
            raise ValueError(f"move_speed must be in (0, 0.5] squares/step, got {self.move_speed}")
        if not 0.0 < self.turn_speed <= math.pi / 2:
            raise ValueError(f"turn_speed must be in (0, pi/2] radians/step, got {self.turn_speed}")
        for name in ("height", "width"):
            if not 8 <= getattr(self, name) <= MAX_FRAME_SIDE:
                raise ValueError(f"{name} must be in [8, {MAX_FRAME_SIDE}] pixels, got {getattr(self, name)}")

    @property
    def grid_size(self) -> int:
        return 2 * self.size + 1


def resolve_seeds(seed: int | Sequence[int] | None, batch_size: int) -> list[int]:
    """One seed per world: an int gives seed, seed+1, ...; None draws fresh ones from the OS."""
    if seed is None:
        entropy = np.random.SeedSequence().generate_state(1)[0]
        return [int(entropy) + i for i in range(batch_size)]
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return [int(seed) + i for i in range(batch_size)]
    seeds = [int(s) for s in seed]
    if len(seeds) != batch_size:
        raise ValueError(f"got {len(seeds)} seeds for batch_size {batch_size}; give one per world")
    return seeds


class MazeWorld:
    """`batch_size` mazes stepped in lock-step on `device`; same seeds + actions → identical frames."""

    def __init__(self, config: MazeConfig | None = None, batch_size: int = 1, device: str | torch.device = "cpu"):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.config = config = config or MazeConfig()
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.action_space = maze_action_space(config.continuous_yaw)
        self.raycaster = Raycaster(config.height, config.width, config.fov_deg, config.grid_size, self.device)
        self.physics = MazePhysics(
            config.move_speed, config.turn_speed, config.agent_radius, config.grid_size, self.device
        )
        self.layouts: list[MazeLayout] = []
        self.scene: MazeScene | None = None
        self.pose = torch.zeros(batch_size, 3, device=self.device)  # (B, 3) x, y, yaw
        self.step_count = 0

    def reset(self, seed: int | Sequence[int] | None = None) -> tuple[Tensor, dict[str, Any]]:
        """New maze and start pose per world, both drawn from that world's seed."""
        cfg = self.config
        seeds = resolve_seeds(seed, self.batch_size)
        self.layouts = [
            generate_layout(s, cfg.size, cfg.loop_fraction, cfg.num_regions, cfg.num_landmarks) for s in seeds
        ]
        self.scene = MazeScene.from_layouts(self.layouts, self.device)
        start = np.asarray(
            [(lay.start_square[1] + 0.5, lay.start_square[0] + 0.5, lay.start_yaw) for lay in self.layouts],
            dtype=np.float32,
        )
        self.pose = torch.from_numpy(start).to(self.device)
        self.step_count = 0
        return self._observe()

    def step(self, discrete: Tensor | None, continuous: Tensor | None = None) -> tuple[Tensor, dict[str, Any]]:
        """discrete int64 (B,) (None: noop), continuous float (B, C) yaw delta (None: 0) → frames, info."""
        if self.scene is None:
            raise RuntimeError("MazeWorld.step called before reset()")
        discrete, yaw_delta = self._checked_actions(discrete, continuous)
        with torch.no_grad():
            self.pose = self.physics.step(self.pose, discrete, yaw_delta, self.scene.blocked)
        self.step_count += 1
        return self._observe()

    def render(self, pose: Tensor) -> Tensor:
        """Frames uint8 (B, H, W, 3) seen from arbitrary poses (B, 3) in the current mazes (ground truth)."""
        if self.scene is None:
            raise RuntimeError("MazeWorld.render called before reset()")
        return self.raycaster.render(self.scene, pose.to(self.device, torch.float32))

    def cells(self) -> Tensor:
        """int64 (B, 2): (row, col) grid square of each agent."""
        return self.pose[:, [1, 0]].floor().long()

    def _observe(self) -> tuple[Tensor, dict[str, Any]]:
        frames = self.raycaster.render(self.scene, self.pose)
        return frames, {"step": self.step_count, "pose": self.pose.clone(), "cell": self.cells()}

    def _checked_actions(self, discrete: Tensor | None, continuous: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """-> discrete int64 (B,), yaw delta (B,) or None, on the maze's device."""
        discrete, continuous = self.action_space.check_batch(discrete, continuous, self.batch_size, "maze step")
        yaw_delta = None if continuous is None else continuous[:, 0].to(self.device)
        return discrete.to(self.device), yaw_delta
