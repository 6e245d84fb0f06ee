import numpy as np
import pytest
import torch

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


def test_noop_batch_uses_the_spaces_noop_and_omits_absent_kinds():
    space = ActionSpace(discrete=("left", "stay", "right"), noop=1)
    discrete, continuous = space.noop_batch(2, length=3)
    assert discrete.tolist() == [[1, 1, 1], [1, 1, 1]] and discrete.dtype == torch.long and continuous is None
    discrete, continuous = maze_action_space().noop_batch(4)
    assert discrete.tolist() == [0] * 4 and continuous.shape == (4, 1) and not continuous.any()


def test_check_batch_fills_noops_clips_and_names_the_culprit():
    space = ActionSpace(discrete=("left", "stay", "right"), continuous=("x",), continuous_bound=0.5, noop=1)
    discrete, continuous = space.check_batch(None, torch.tensor([[2.0], [-0.25]]), 2, "test")
    assert discrete.tolist() == [1, 1] and continuous.tolist() == [[0.5], [-0.25]]
    bad = [
        (torch.tensor([0, 3]), None, "discrete action 3 out of range"),
        (torch.tensor([0.0, 1.0]), None, "integers of shape"),
        (torch.tensor([0, 1, 2]), None, r"\(3,\)"),
        (None, torch.tensor([[0.0], [float("inf")]]), "NaN or inf"),
        (None, torch.zeros(2, 2), r"need shape \(2, 1\)"),
    ]
    for d, c, message in bad:
        with pytest.raises(ValueError, match=f"test: .*{message}"):
            space.check_batch(d, c, 2, "test")
    discrete_only = ActionSpace(discrete=("a", "b"))
    assert discrete_only.check_batch(torch.tensor([1]), torch.zeros(1, 0), 1)[1] is None
    with pytest.raises(ValueError, match="continuous"):
        discrete_only.check_batch(torch.tensor([1]), torch.zeros(1, 1), 1)
    with pytest.raises(ValueError, match="no discrete actions"):
        ActionSpace(continuous=("x",)).check_batch(torch.tensor([0]), None, 1)


@pytest.mark.parametrize("change, message", [
    ({"discrete": "abc"}, "discrete.*list of names"),
    ({"continuous": [1]}, "continuous.*list of names"),
    ({"noop": 99}, "noop 99"),
    ({"noop": -1}, "noop -1"),
    ({"noop": 1.5}, "noop 1.5"),
    ({"continuous_bound": -1}, "continuous_bound.*> 0"),
    ({"continuous_bound": float("nan")}, "continuous_bound"),
    ({"continuous_bound": "1"}, "continuous_bound"),
])
def test_an_action_space_read_from_a_file_is_checked(change, message):
    with pytest.raises(ValueError, match=message):
        ActionSpace.from_dict({**maze_action_space().to_dict(), **change})
    with pytest.raises(ValueError, match="expected an object"):
        ActionSpace.from_dict(["noop"])
