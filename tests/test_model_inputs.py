"""Bad input and bad configs are ValueErrors naming what was expected; configs round-trip through YAML dicts."""

import pytest
import torch
import yaml

from worldsim.config import from_dict, to_dict
from worldsim.model import ModelConfig, WorldModel, tiny_model_config


@pytest.fixture(scope="module")
def model():
    return WorldModel(tiny_model_config())


def clip(batch=2, frames=3, size=16):
    return (
        torch.zeros(batch, frames, 3, size, size), torch.ones(batch, frames),
        torch.zeros(batch, frames, dtype=torch.long), torch.zeros(batch, frames, 2),
    )


def test_forward_output_shape(model):
    assert model(*clip()).shape == (2, 3, 3, 16, 16)


@pytest.mark.parametrize(
    "change,match",
    [
        (lambda a: (torch.zeros(2, 3, 3, 8, 8),) + a[1:], "frames"),
        (lambda a: (torch.zeros(2, 3, 16, 16),) + a[1:], "frames"),
        (lambda a: (a[0], torch.ones(2, 4)) + a[2:], "noise_levels"),
        (lambda a: a[:2] + (torch.full((2, 3), 5),) + a[3:], r"\[0, 5\)"),
        (lambda a: a[:2] + (torch.full((2, 3), -1),) + a[3:], "discrete"),
        (lambda a: a[:2] + (torch.zeros(2, 3),) + a[3:], "discrete"),
        (lambda a: a[:3] + (torch.zeros(2, 3, 3),), "continuous"),
    ],
)
def test_forward_rejects_bad_input(model, change, match):
    with pytest.raises(ValueError, match=match):
        model(*change(clip()))


def test_step_rejects_bad_input(model):
    state = model.init_state(2)
    frame, noise, discrete, continuous = (t[:, 0] for t in clip())
    with pytest.raises(ValueError, match="frames"):
        model.step(frame[..., :8], noise, discrete, continuous, state)
    with pytest.raises(ValueError, match="noise_levels"):
        model.step(frame, noise[:1], discrete, continuous, state)
    with pytest.raises(ValueError, match="discrete"):
        model.step(frame, noise, discrete + 7, continuous, state)
    with pytest.raises(ValueError, match="continuous"):
        model.step(frame, noise, discrete, continuous[:, :1], state)
    with pytest.raises(ValueError, match="batch"):
        model.step(frame, noise, discrete, continuous, model.init_state(3))


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"image_height": 18}, "patch_size"),
        ({"block_sizes": [(3, 4)]}, "block size"),
        ({"attn_heads": 3}, "attn_heads"),
        ({"ssm_chunk": 12}, "power of two"),
        ({"ssm_headdim": 24}, "ssm_headdim"),
        ({"temporal": "causal"}, "temporal"),
        ({"scan": "rows"}, "scan"),
        ({"attn_window": 0}, "attn_window"),
        ({"temporal": "pack+local", "attn_window": 0}, "attn_window"),
        ({"temporal": "pack+local", "pack_window": (3, 2)}, "pack_window"),
        ({"temporal": "pack+local", "pack_window": (2, 2, 1)}, "pack_window"),
        ({"temporal": "pack+local", "pack_segment": 0}, "pack_segment"),
    ],
)
def test_config_rejects_bad_values(overrides, match):
    with pytest.raises(ValueError, match=match):
        tiny_model_config(**overrides)


def test_config_round_trips_through_yaml():
    config = ModelConfig()
    loaded = from_dict(ModelConfig, yaml.safe_load(yaml.safe_dump(to_dict(config))))
    assert loaded == config
    assert loaded.block_sizes == [(16, 16), (8, 8), (4, 4)]
    assert ModelConfig(block_sizes=[[8, 8]]).block_sizes == [(8, 8)]


def test_default_layers_cycle_block_sizes():
    config = ModelConfig()
    assert [config.block_size(i) for i in range(4)] == [(16, 16), (8, 8), (4, 4), (16, 16)]
    assert ModelConfig(scan="frame").block_size(1) == (16, 16)
    assert ModelConfig(scan="token").block_size(0) == (1, 1)
