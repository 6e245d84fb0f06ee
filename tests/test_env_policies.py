import numpy as np
import pytest
import torch

from worldsim.env.detours import DETOUR_ACTIONS, DETOUR_STEPS, PAUSE_STEPS
from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.env.policies import ACTION, bfs_path, make_policy


def run(name: str, steps: int, seed: int = 0, batch: int = 4, detour_prob: float = 0.0, repeat_prob: float = 0.0,
        pause_prob: float = 0.0):
    world = MazeWorld(MazeConfig(height=16, width=16), batch_size=batch)
    world.reset(seed)
    policy = make_policy(name, detour_prob, repeat_prob=repeat_prob, pause_prob=pause_prob)
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


@pytest.mark.parametrize("name", ["wander", "revisit"])
def test_detours_add_the_actions_steering_never_takes(name):
    plain = run(name, 400)[1][:, :, 0].long()  # (T, B) discrete
    detour = [ACTION[a] for a in DETOUR_ACTIONS]
    assert not torch.isin(plain, torch.tensor(detour)).any()  # steering: forward and turns only
    world, actions, squares, _ = run(name, 400, detour_prob=0.05)
    discrete = actions[:, :, 0].long()
    for action in detour:
        assert (discrete == action).any(), f"{action} never taken"
    for b in range(world.batch_size):  # detours come in runs of one action, DETOUR_STEPS long
        runs, current = [], [int(discrete[0, b]), 1]
        for a in discrete[1:, b].tolist():
            if a == current[0]:
                current[1] += 1
            else:
                runs.append(current)
                current = [a, 1]
        lengths = [n for a, n in runs if a in detour]
        assert lengths and min(lengths) >= DETOUR_STEPS[0]
        assert max(lengths) <= 2 * DETOUR_STEPS[1]  # two back-to-back detours of the same action at most
    assert (actions[..., 1][torch.isin(discrete, torch.tensor(detour))] == 0).all()  # no mouse yaw in a detour
    blocked = np.stack([layout.blocked for layout in world.layouts])
    for b in range(world.batch_size):  # still never inside a wall, and still travelling
        assert not blocked[b, squares[:, b, 0], squares[:, b, 1]].any()
        assert len({tuple(s) for s in squares[:, b]}) >= 8


def test_detour_prob_is_checked():
    with pytest.raises(ValueError, match="detour_prob must be in"):
        make_policy("wander", 1.5)
    with pytest.raises(ValueError, match="pause_prob must be in"):
        make_policy("wander", pause_prob=-0.1)


def noop_runs(discrete: torch.Tensor, continuous: torch.Tensor) -> list[int]:
    """Lengths of the runs of no-op steps with no mouse yaw in one world's actions (T,)."""
    still = ((discrete == ACTION["noop"]) & (continuous == 0)).tolist() + [False]
    runs, length = [], 0
    for is_still in still:
        if is_still:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    return runs


@pytest.mark.parametrize("name", ["wander", "revisit"])
def test_pauses_stand_still_for_long_stretches(name):
    _, plain, _, _ = run(name, 300, detour_prob=0.03)
    _, paused, squares, _ = run(name, 300, detour_prob=0.03, pause_prob=0.02)
    runs = [noop_runs(paused[:, b, 0].long(), paused[:, b, 1]) for b in range(paused.shape[1])]
    long_runs = [n for world_runs in runs for n in world_runs if n >= PAUSE_STEPS[0]]
    assert long_runs and max(long_runs) <= 2 * PAUSE_STEPS[1]  # pauses, at most two back to back
    assert all(n < PAUSE_STEPS[0] for b in range(plain.shape[1])  # detours alone stand still briefly
               for n in noop_runs(plain[:, b, 0].long(), plain[:, b, 1]))
    assert all(len({tuple(s) for s in squares[:, b]}) >= 5 for b in range(squares.shape[1]))  # still travels
    # without pauses the random stream is untouched: the clips of earlier versions
    assert torch.equal(plain, run(name, 300, detour_prob=0.03, pause_prob=0.0)[1])


def test_random_repeat_prob_holds_actions_as_recorded():
    def repeats(actions: torch.Tensor) -> float:  # share of steps whose (discrete, yaw) equals the previous step's
        return float((actions[1:] == actions[:-1]).all(-1).float().mean())

    plain, sticky = run("random", 150)[1], run("random", 150, repeat_prob=0.75)[1]
    assert repeats(plain) < 0.05  # a fresh (discrete, yaw) draw almost never repeats
    assert 0.65 < repeats(sticky) < 0.85  # p = 0.75 of the steps keep the previous action whole
    assert torch.equal(sticky, run("random", 150, repeat_prob=0.75)[1])  # still seeded


def test_repeat_prob_is_checked():
    with pytest.raises(ValueError, match=r"repeat_prob must be in \[0, 1\)"):
        make_policy("random", repeat_prob=1.0)
    with pytest.raises(ValueError, match="applies to the random policy"):
        make_policy("wander", repeat_prob=0.5)
