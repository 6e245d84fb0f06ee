"""The maze training source: data.detour_prob reaches the policies; bad values are refused up front."""

from pathlib import Path

import pytest
import torch

from worldsim.config import load_config
from worldsim.env.policies import ACTION, DETOUR_ACTIONS
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
