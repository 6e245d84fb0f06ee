"""The maze training source: data.detour_prob reaches the policies; bad values are refused up front."""

from pathlib import Path

import pytest
import torch

from worldsim.config import load_config
from worldsim.env.detours import DETOUR_ACTIONS
from worldsim.env.policies import ACTION
from worldsim.train.clip_sources import MazeClipSource
from worldsim.train.config import TrainConfig, validate_train_config
from worldsim.train.maze_pools import MazePools

SMOKE = Path(__file__).resolve().parent / "smoke.yaml"
DETOURS = torch.tensor([ACTION[name] for name in DETOUR_ACTIONS])


def detour_share(detour_prob: float) -> float:
    config = load_config(TrainConfig, SMOKE, ["data.batch_size=4", "data.clip_length=48",
                                             f"data.detour_prob={detour_prob}"])
    discrete = MazeClipSource(config.data, torch.device("cpu"), seed=1).next_batch()["discrete"][:, 1:]
    return float(torch.isin(discrete, DETOURS).float().mean())


def test_detour_prob_reaches_the_training_clips():
    assert detour_share(0.0) == 0.0  # the default: steering only (forward and turns)
    assert 0.1 < detour_share(0.1) < 0.6  # about p·5/(1 + p·5) of the steps: stand, back, strafe


def test_detour_prob_out_of_range_is_an_error():
    config = load_config(TrainConfig, SMOKE, ["data.detour_prob=1.5"])
    with pytest.raises(ValueError, match="data.detour_prob must be in"):
        validate_train_config(config)
    config = load_config(TrainConfig, SMOKE, ["data.pause_prob=2"])
    with pytest.raises(ValueError, match="data.pause_prob must be in"):
        validate_train_config(config)


def test_pause_prob_reaches_the_training_clips():
    def still_share(pause_prob: float) -> float:
        config = load_config(TrainConfig, SMOKE, ["data.batch_size=4", "data.clip_length=64",
                                                 f"data.pause_prob={pause_prob}"])
        batch = MazeClipSource(config.data, torch.device("cpu"), seed=1).next_batch()
        still = (batch["discrete"][:, 1:] == ACTION["noop"]) & (batch["continuous"][:, 1:].abs().sum(-1) == 0)
        return float(still.float().mean())

    assert still_share(0.0) == 0.0
    assert still_share(0.05) > 0.3  # pauses of 16-96 steps start about every 20 steps


def test_pooled_batches_are_reproducible_and_retrace_clips_come_back() -> None:
    from worldsim.env.maze_world import MazeConfig
    from worldsim.train.config import DataConfig

    config = DataConfig(clip_length=9, batch_size=2, maze_pool=3, retrace_fraction=1.0,
                        maze=MazeConfig(size=5, height=16, width=16))
    source = MazeClipSource(config, torch.device("cpu"), seed=3)
    batches = [source.next_batch() for _ in range(4)]  # crosses into a second pool
    assert all(b["frames"].shape == (2, 9, 16, 16, 3) for b in batches)
    assert not torch.equal(batches[0]["frames"], batches[1]["frames"])
    frames = batches[0]["frames"].float()
    for j in range(1, 5):  # frames 5..8 walk back through views 3..0
        assert (frames[:, 4 + j] - frames[:, 4 - j]).abs().mean() < 0.5
    resumed = MazeClipSource(config, torch.device("cpu"), seed=3)
    resumed.load_state_dict({"position": 2})
    assert torch.equal(resumed.next_batch()["frames"], batches[2]["frames"])
    assert {MazePools.of(DataConfig(retrace_fraction=0.5), seed=s, clip_length=9).policy(0)
            for s in range(20)} == {"retrace", "revisit", "wander"}


def test_rotation_fraction_adds_turning_clips_and_keeps_the_old_draws() -> None:
    import random

    from worldsim.env.maze_world import MazeConfig
    from worldsim.train.config import DataConfig

    def old_policy(seed: int, index: int, retrace: float = 0.5, revisit: float = 0.8) -> str:  # before rotation
        draw = random.Random(f"{seed}/{index}").random()
        return "retrace" if draw < retrace else ("revisit" if draw < retrace + (1 - retrace) * revisit else "wander")

    without = MazePools.of(DataConfig(retrace_fraction=0.5), seed=4, clip_length=9)
    assert [without.policy(i) for i in range(200)] == [old_policy(4, i) for i in range(200)]
    pools = MazePools.of(DataConfig(retrace_fraction=0.5, rotation_fraction=0.2), seed=4, clip_length=9)
    drawn = [pools.policy(i) for i in range(2000)]
    assert 0.16 < drawn.count("rotation") / len(drawn) < 0.24
    assert 0.46 < drawn.count("retrace") / len(drawn) < 0.54

    maze = MazeConfig(size=5, height=16, width=16)
    turning = MazePools.of(DataConfig(rotation_fraction=1.0, batch_size=8, maze=maze), seed=1, clip_length=40)
    world = turning.make_world("cpu")
    clips = turning.render(world, 0)
    assert clips["frames"].shape == (8, 40, 16, 16, 3)
    start = turning.make_world("cpu")
    start.reset(turning.maze_seeds(0))
    assert torch.equal(world.pose[:, :2], start.pose[:, :2])  # on the spot: the position never changes
    assert not torch.equal(world.pose[:, 2], start.pose[:, 2])
    steps = clips["continuous"][:, 1:, 0]
    keys = clips["discrete"][:, 1:]
    by_mouse = (steps != 0).all(1)
    assert by_mouse.any() and (~by_mouse).any()  # both ways of turning appear in one pool
    assert (keys[by_mouse] == ACTION["noop"]).all()
    assert set(keys[~by_mouse].unique().tolist()) <= {ACTION["turn_left"], ACTION["turn_right"]}
    assert ((steps > 0).all(1) | (steps < 0).all(1) | ~by_mouse).all()  # one way per clip
    # a view comes back one turn later (26 mouse frames at 0.25 rad, 32 key frames at 0.2 rad)
    frames = clips["frames"].float()
    assert (frames[:, 32] - frames[:, 0]).abs().mean() < (frames[:, 16] - frames[:, 0]).abs().mean()


def test_rotation_fraction_is_bounded_by_what_retrace_leaves():
    config = load_config(TrainConfig, SMOKE, ["data.retrace_fraction=0.7", "data.rotation_fraction=0.4"])
    with pytest.raises(ValueError, match=r"data.rotation_fraction must be in \[0, 1 - retrace_fraction = 0.3\]"):
        validate_train_config(config)
