"""The maze training source: data.detour_prob reaches the policies; bad values are refused up front."""

from pathlib import Path

import pytest
import torch

from worldsim.config import load_config
from worldsim.env.policies import ACTION, DETOUR_ACTIONS
from worldsim.train.clip_sources import MazeClipSource
from worldsim.train.config import TrainConfig, validate_train_config

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml"
DETOURS = torch.tensor([ACTION[name] for name in DETOUR_ACTIONS])


def detour_share(detour_prob: float) -> float:
    config = load_config(TrainConfig, TINY, ["data.batch_size=4", "data.clip_length=48",
                                             f"data.detour_prob={detour_prob}"])
    discrete = MazeClipSource(config.data, torch.device("cpu"), seed=1).next_batch()["discrete"][:, 1:]
    return float(torch.isin(discrete, DETOURS).float().mean())


def test_detour_prob_reaches_the_training_clips():
    assert detour_share(0.0) == 0.0  # the default: steering only (forward and turns)
    assert 0.1 < detour_share(0.1) < 0.6  # about p·5/(1 + p·5) of the steps: stand, back, strafe


def test_detour_prob_out_of_range_is_an_error():
    config = load_config(TrainConfig, TINY, ["data.detour_prob=1.5"])
    with pytest.raises(ValueError, match="data.detour_prob must be in"):
        validate_train_config(config)
