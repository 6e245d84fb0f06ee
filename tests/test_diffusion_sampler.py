from types import SimpleNamespace

import pytest
import torch
from torch import nn

from worldsim.diffusion.sampler import generate_frame
from worldsim.model import WorldModel, tiny_model_config


class OracleModel(nn.Module):
    """Knows the frame to produce: v(x_t, t) = (x − x_t) / (1 − t), the exact rectified-flow velocity."""

    def __init__(self, target: torch.Tensor):
        super().__init__()
        self.config = SimpleNamespace(image_height=target.shape[-2], image_width=target.shape[-1])
        self.target = target
        self.calls = []

    def step(self, frame, noise_level, discrete, continuous, state, commit=False):
        self.calls.append((float(noise_level[0]), commit))
        if commit:
            state.append(frame.clone())
        return (self.target - frame) / (1.0 - noise_level).clamp_min(1e-6)[:, None, None, None]


@pytest.mark.parametrize("steps", [1, 3, 8])
def test_euler_with_oracle_velocity_reproduces_the_data(steps):
    target = torch.rand(2, 3, 8, 8) * 2 - 1
    model, state = OracleModel(target), []
    frame = generate_frame(model, state, torch.zeros(2, dtype=torch.long), None, steps,
                           generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(frame, target, rtol=1e-5, atol=1e-5)
    levels = [level for level, commit in model.calls if not commit]
    assert levels == pytest.approx([i / steps for i in range(steps)])
    assert [commit for _, commit in model.calls] == [False] * steps + [True]
    torch.testing.assert_close(state[0], target, rtol=1e-5, atol=1e-5)


def test_commit_noise_level_re_noises_the_committed_frame():
    target = torch.rand(1, 3, 8, 8) * 2 - 1
    model, state = OracleModel(target), []
    generate_frame(model, state, torch.zeros(1, dtype=torch.long), None, 2,
                   generator=torch.Generator().manual_seed(0), commit_noise_level=0.5)
    assert model.calls[-1] == (0.5, True)
    assert not torch.allclose(state[0], target)


def test_generate_frame_with_the_world_model_advances_its_state():
    config = tiny_model_config()
    model = WorldModel(config).eval()
    state = model.init_state(2)
    discrete = torch.zeros(2, dtype=torch.long)
    continuous = torch.zeros(2, config.num_continuous_actions)
    frame = generate_frame(model, state, discrete, continuous, steps=2)
    assert frame.shape == (2, 3, config.image_height, config.image_width)
    assert bool((frame.abs() <= 1).all())
    assert state.frame_index.tolist() == [1, 1]


def test_bad_arguments_are_named():
    model = OracleModel(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="steps"):
        generate_frame(model, [], torch.zeros(1, dtype=torch.long), None, 0)
    with pytest.raises(ValueError, match="commit_noise_level"):
        generate_frame(model, [], torch.zeros(1, dtype=torch.long), None, 2, commit_noise_level=1.5)
