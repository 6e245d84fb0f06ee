import numpy as np
import pytest
import torch

from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.env.policies import bfs_path, make_policy


def run(name: str, steps: int, seed: int = 0, batch: int = 4):
    world = MazeWorld(MazeConfig(height=16, width=16), batch_size=batch)
    world.reset(seed)
    policy = make_policy(name)
    policy.reset(world, seed)
    actions, squares, gaps = [], [], []
    for _ in range(steps):
        discrete, continuous = policy.act()
        world.action_space.check_discrete(discrete.numpy())
        world.action_space.check_continuous(continuous.numpy())
        _, info = world.step(discrete, continuous)
        actions.append(torch.cat([discrete[:, None].float(), continuous], 1))
        squares.append(info["cell"].numpy())
        if name == "revisit":
            gaps.append(policy.revisit_gap.copy())
    return world, torch.stack(actions), np.stack(squares), np.stack(gaps) if gaps else None


def test_unknown_policy_lists_choices():
    with pytest.raises(ValueError, match="revisit"):
        make_policy("explore")


@pytest.mark.parametrize("name", ["random", "wander", "revisit"])
def test_same_seed_same_actions(name):
    assert torch.equal(run(name, 40)[1], run(name, 40)[1])
    assert not torch.equal(run(name, 40)[1], run(name, 40, seed=1)[1])


@pytest.mark.parametrize("name", ["wander", "revisit"])
def test_policies_explore_without_entering_walls(name):
    world, _, squares, _ = run(name, 300)
    blocked = np.stack([layout.blocked for layout in world.layouts])  # (B, G, G)
    for b in range(world.batch_size):
        assert not blocked[b, squares[:, b, 0], squares[:, b, 1]].any()
        assert len({tuple(s) for s in squares[:, b]}) >= 10  # it travels, it does not get stuck


def test_revisit_returns_after_long_gaps():
    _, _, squares, gaps = run("revisit", 600)
    assert (gaps > 100).any(axis=0).all()  # every world comes back to a square seen >100 steps before
    b, t = np.argwhere(gaps > 100)[0][1], np.argwhere(gaps > 100)[0][0]
    earlier = squares[: t - gaps[t, b] + 1, b]
    assert (earlier == squares[t, b]).all(axis=1).any()  # the reported gap points at a real earlier visit


def test_bfs_path_is_connected_and_shortest():
    free = np.zeros((5, 5), dtype=bool)
    free[1, 1:4] = free[1:4, 3] = True
    path = bfs_path(free, (1, 1), (3, 3))
    assert path == [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3)]
    assert bfs_path(free, (1, 1), (0, 0)) == []
