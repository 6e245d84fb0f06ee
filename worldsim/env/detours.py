"""Detours and pauses: the stretches in which a map-reading maze policy stops steering.

Steering alone only ever moves forward and turns. With `detour_prob` > 0, each step starts, with that
probability, a short detour: DETOUR_STEPS steps of one action the steering never takes (standing still,
backing up, strafing), after which steering resumes. A world model trained on such clips has seen every
key a player can press. With `pause_prob` > 0, each step also starts, with that probability, a pause:
PAUSE_STEPS steps of no-op, long enough that a player who stops and looks sees what the model must keep
showing (the validation's standing-still test: 100 no-op frames).
"""

from __future__ import annotations

import numpy as np

from worldsim.actions import MAZE_DISCRETE_ACTIONS

DETOUR_ACTIONS = ("noop", "backward", "strafe_left", "strafe_right")
DETOUR_STEPS = (2, 8)  # a detour lasts between these many steps (inclusive)
PAUSE_STEPS = (16, 96)  # a pause (no-op) lasts between these many steps (inclusive)


class Detours:
    """Per world, the running detour or pause: its action and the steps it has left."""

    def __init__(self, detour_prob: float = 0.0, pause_prob: float = 0.0) -> None:
        for name, value in (("detour_prob", detour_prob), ("pause_prob", pause_prob)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        self.detour_prob, self.pause_prob = detour_prob, pause_prob
        self.running: list[tuple[int, int]] = []  # per world: (action, steps left)

    def reset(self, batch_size: int) -> None:
        self.running = [(0, 0)] * batch_size

    def action(self, b: int, rng: np.random.Generator) -> int | None:
        """World b's next action from its detour or pause (starting a pause with probability pause_prob, else a
        detour with probability detour_prob); None: steer. No draw for a probability of 0, so clips made
        without pauses (or detours) stay those of earlier versions."""
        action, left = self.running[b]
        if left == 0:
            if self.pause_prob and rng.random() < self.pause_prob:
                action = MAZE_DISCRETE_ACTIONS.index("noop")
                left = int(rng.integers(PAUSE_STEPS[0], PAUSE_STEPS[1] + 1))
            elif self.detour_prob and rng.random() < self.detour_prob:
                action = MAZE_DISCRETE_ACTIONS.index(DETOUR_ACTIONS[rng.integers(len(DETOUR_ACTIONS))])
                left = int(rng.integers(DETOUR_STEPS[0], DETOUR_STEPS[1] + 1))
            else:
                return None
        self.running[b] = (action, left - 1)
        return action
