import numpy as np
import pytest

from worldsim.actions import MAZE_DISCRETE_ACTIONS, ActionSpace, maze_action_space


def test_round_trip():
    space = maze_action_space()
    assert ActionSpace.from_dict(space.to_dict()) == space
    assert space.num_discrete == len(MAZE_DISCRETE_ACTIONS) and space.num_continuous == 1


def test_out_of_range_discrete_names_value():
    with pytest.raises(ValueError, match="discrete action 9 out of range"):
        maze_action_space().check_discrete(np.array([0, 9]))


def test_continuous_width_checked():
    with pytest.raises(ValueError, match="trailing width 1"):
        maze_action_space().check_continuous(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        maze_action_space().check_continuous(np.array([[np.nan]]))
