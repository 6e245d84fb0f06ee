"""Keyboard and mouse -> one step's action, as pure functions of the held keys and the mouse motion.

Two schemes, chosen from the action space's names:
- movement (the maze, or any space naming forward/backward/turn_*/strafe_*): WASD/arrows/Q/E, and the
  mouse's horizontal motion as a continuous yaw when the space has one;
- numbered (any other discrete space, e.g. Atari): keys 0-9 pick discrete actions 0-9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygame

from worldsim.actions import ActionSpace

# Radians of yaw per pixel of mouse motion: a 200-px flick turns ~0.6 rad, clipped per step to the bound.
MOUSE_YAW_RAD_PER_PIXEL = 0.003
# The maze's positive yaw delta turns right (clockwise on the map), as moving the mouse right (dx > 0) should.
MOUSE_YAW_SIGN = 1.0

FORWARD_KEYS = frozenset({pygame.K_w, pygame.K_UP})
BACKWARD_KEYS = frozenset({pygame.K_s, pygame.K_DOWN})
STRAFE_LEFT_KEYS = frozenset({pygame.K_a})
STRAFE_RIGHT_KEYS = frozenset({pygame.K_d})
TURN_LEFT_KEYS = frozenset({pygame.K_LEFT, pygame.K_q})
TURN_RIGHT_KEYS = frozenset({pygame.K_RIGHT, pygame.K_e})
DIGIT_KEYS = tuple(getattr(pygame, f"K_{d}") for d in range(10))
MOVEMENT_NAMES = ("forward", "backward", "turn_left", "turn_right", "strafe_left", "strafe_right")

# Shown in the help overlay and mirrored in docs/playing.md.
MOVEMENT_KEY_TABLE: tuple[tuple[str, str], ...] = (
    ("W / Up", "forward"),
    ("S / Down", "backward"),
    ("A / D", "strafe left / right"),
    ("Left / Right, Q / E", "turn left / right"),
    ("W + turn", "forward_left / forward_right"),
    ("mouse (captured)", "turn by yaw_delta_rad"),
)


@dataclass(frozen=True)
class Controls:
    """Maps held keys + mouse motion to an action of `space`."""

    space: ActionSpace

    @property
    def uses_movement_keys(self) -> bool:
        return all(name in self.space.discrete for name in MOVEMENT_NAMES)

    @property
    def uses_mouse_yaw(self) -> bool:
        return "yaw_delta_rad" in self.space.continuous

    def action(self, pressed: frozenset[int], mouse_dx: float = 0.0) -> tuple[int | None, np.ndarray | None]:
        """(discrete index or None when the space has none, continuous float32 (C,) or None)."""
        discrete = None
        if self.space.num_discrete:
            if self.uses_movement_keys:
                discrete = movement_action(self.space, pressed)
            else:
                discrete = numbered_action(self.space, pressed)
        continuous = None
        if self.space.num_continuous:
            continuous = np.zeros(self.space.num_continuous, dtype=np.float32)
            if self.uses_mouse_yaw:
                continuous[self.space.continuous.index("yaw_delta_rad")] = mouse_yaw(self.space, mouse_dx)
        return discrete, continuous

    def key_table(self) -> list[tuple[str, str]]:
        """(keys, action) rows for the help overlay."""
        if self.uses_movement_keys:
            rows = list(MOVEMENT_KEY_TABLE)
            return rows if self.uses_mouse_yaw else rows[:-1]
        return [(str(i), name) for i, name in enumerate(self.space.discrete[:10])]


def movement_action(space: ActionSpace, pressed: frozenset[int]) -> int:
    """Held movement keys -> discrete index. Opposite keys cancel; forward + turn -> forward_left/right.

    Priority when several remain: forward/backward, then turning, then strafing (one action per step).
    """
    held = set(pressed)
    ahead = bool(held & FORWARD_KEYS) - bool(held & BACKWARD_KEYS)
    turn = bool(held & TURN_LEFT_KEYS) - bool(held & TURN_RIGHT_KEYS)  # +1 = left
    strafe = bool(held & STRAFE_LEFT_KEYS) - bool(held & STRAFE_RIGHT_KEYS)  # +1 = left
    name = "noop"
    if ahead > 0 and turn:
        name = "forward_left" if turn > 0 else "forward_right"
        if name not in space.discrete:
            name = "forward"
    elif ahead:
        name = "forward" if ahead > 0 else "backward"
    elif turn:
        name = "turn_left" if turn > 0 else "turn_right"
    elif strafe:
        name = "strafe_left" if strafe > 0 else "strafe_right"
    if name not in space.discrete:
        return space.noop
    return space.discrete.index(name)


def numbered_action(space: ActionSpace, pressed: frozenset[int]) -> int:
    """The lowest held digit key naming an action of `space`, else the no-op."""
    for index, key in enumerate(DIGIT_KEYS[: space.num_discrete]):
        if key in pressed:
            return index
    return space.noop


def mouse_yaw(space: ActionSpace, mouse_dx: float) -> float:
    """Horizontal mouse motion (pixels this step) -> yaw delta in radians, clipped to the space's bound."""
    bound = space.continuous_bound
    return float(np.clip(MOUSE_YAW_SIGN * MOUSE_YAW_RAD_PER_PIXEL * mouse_dx, -bound, bound))
