"""Agent motion in the maze: discrete action → turn + move, with wall collisions that slide.

The agent is an axis-aligned square of half-size `radius` (a circle approximated, as in classic
raycasters); x and y are resolved one after the other, so a blocked axis stops while the other keeps
moving, which slides the agent along walls. Speeds below 0.5 unit/step never skip a wall square.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from worldsim.actions import MAZE_DISCRETE_ACTIONS

# (forward, strafe right, turn right) per discrete action, in MAZE_DISCRETE_ACTIONS order.
_ACTION_EFFECTS = {
    "noop": (0.0, 0.0, 0.0),
    "forward": (1.0, 0.0, 0.0),
    "backward": (-1.0, 0.0, 0.0),
    "turn_left": (0.0, 0.0, -1.0),
    "turn_right": (0.0, 0.0, 1.0),
    "strafe_left": (0.0, -1.0, 0.0),
    "strafe_right": (0.0, 1.0, 0.0),
    "forward_left": (1.0, 0.0, -1.0),
    "forward_right": (1.0, 0.0, 1.0),
}
ACTION_EFFECTS = tuple(_ACTION_EFFECTS[name] for name in MAZE_DISCRETE_ACTIONS)
_GAP = 1e-4  # distance kept from a wall face after a collision


class MazePhysics:
    """Moves poses (B, 3) = (x, y, yaw) through `blocked` (B, G·G) grids."""

    def __init__(self, move_speed: float, turn_speed: float, radius: float, grid_size: int, device: torch.device):
        self.move_speed, self.turn_speed, self.radius, self.grid_size = move_speed, turn_speed, radius, grid_size
        self.effects = torch.tensor(ACTION_EFFECTS, dtype=torch.float32, device=device)  # (9, 3)

    def step(self, pose: Tensor, discrete: Tensor, yaw_delta: Tensor | None, blocked: Tensor) -> Tensor:
        """pose (B, 3), discrete int64 (B,), yaw_delta float (B,) or None, blocked bool (B, G·G) → pose (B, 3)."""
        effect = self.effects[discrete]  # (B, 3)
        yaw = pose[:, 2] + effect[:, 2] * self.turn_speed
        if yaw_delta is not None:
            yaw = yaw + yaw_delta
        yaw = torch.remainder(yaw, 2.0 * math.pi)
        cos, sin = yaw.cos(), yaw.sin()
        forward, strafe = effect[:, 0] * self.move_speed, effect[:, 1] * self.move_speed
        delta_x = forward * cos - strafe * sin
        delta_y = forward * sin + strafe * cos
        x = self._slide(pose[:, 0], pose[:, 1], delta_x, blocked, x_axis=True)
        y = self._slide(pose[:, 1], x, delta_y, blocked, x_axis=False)
        return torch.stack([x, y, yaw], dim=-1)

    def _slide(self, coord: Tensor, other: Tensor, delta: Tensor, blocked: Tensor, x_axis: bool) -> Tensor:
        """Move `coord` by `delta` unless the leading edge enters a blocked square; then stop at its face."""
        radius, grid = self.radius, self.grid_size
        moved = coord + delta
        lead = (moved + torch.sign(delta) * radius).floor()  # (B,) square index of the leading edge
        # The agent's extent along the other axis touches up to two squares.
        span = torch.stack([other - radius + _GAP, other + radius - _GAP], dim=-1).floor()  # (B, 2)
        lead = lead[:, None].expand_as(span)
        square = lead * grid + span if not x_axis else span * grid + lead
        square = square.long().clamp(0, grid * grid - 1)
        hit = torch.gather(blocked, 1, square).any(-1) & (delta != 0)
        stop = torch.where(delta > 0, lead[:, 0] - radius - _GAP, lead[:, 0] + 1.0 + radius + _GAP)
        return torch.where(hit, stop, moved)
