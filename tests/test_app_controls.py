import numpy as np
import pygame
import pytest

from worldsim.actions import ActionSpace, maze_action_space
from worldsim.app.controls import MOUSE_YAW_RAD_PER_PIXEL, Controls

MAZE = maze_action_space()


def name(space: ActionSpace, keys: set[int]) -> str:
    discrete, _ = Controls(space).action(frozenset(keys))
    return space.discrete[discrete]


@pytest.mark.parametrize(
    "keys, expected",
    [
        (set(), "noop"),
        ({pygame.K_w}, "forward"),
        ({pygame.K_UP}, "forward"),
        ({pygame.K_s}, "backward"),
        ({pygame.K_DOWN}, "backward"),
        ({pygame.K_a}, "strafe_left"),
        ({pygame.K_d}, "strafe_right"),
        ({pygame.K_LEFT}, "turn_left"),
        ({pygame.K_q}, "turn_left"),
        ({pygame.K_RIGHT}, "turn_right"),
        ({pygame.K_e}, "turn_right"),
        ({pygame.K_w, pygame.K_LEFT}, "forward_left"),
        ({pygame.K_UP, pygame.K_e}, "forward_right"),
        ({pygame.K_w, pygame.K_s}, "noop"),  # opposite keys cancel
        ({pygame.K_w, pygame.K_s, pygame.K_q}, "turn_left"),
        ({pygame.K_w, pygame.K_a}, "forward"),  # one action per step: moving wins over strafing
    ],
)
def test_movement_keys_map_to_maze_actions(keys, expected):
    assert name(MAZE, keys) == expected


def test_mouse_motion_turns_right_for_positive_dx_and_is_clipped():
    controls = Controls(MAZE)
    _, small = controls.action(frozenset(), mouse_dx=20)
    assert small.shape == (1,) and small.dtype == np.float32
    assert small[0] == pytest.approx(20 * MOUSE_YAW_RAD_PER_PIXEL)
    _, left = controls.action(frozenset(), mouse_dx=-10_000)
    assert left[0] == pytest.approx(-MAZE.continuous_bound)


def test_maze_without_continuous_yaw_has_no_continuous_action():
    discrete, continuous = Controls(maze_action_space(continuous_yaw=False)).action(frozenset({pygame.K_w}), 50)
    assert continuous is None and MAZE.discrete[discrete] == "forward"


def test_other_spaces_use_number_keys():
    space = ActionSpace(discrete=("NOOP", "FIRE", "UP", "DOWN"))
    controls = Controls(space)
    assert not controls.uses_movement_keys
    assert controls.action(frozenset({pygame.K_2}))[0] == 2
    assert controls.action(frozenset({pygame.K_9}))[0] == space.noop  # no action 9 in this space
    assert controls.action(frozenset())[0] == space.noop
    assert [row[1] for row in controls.key_table()] == list(space.discrete)
