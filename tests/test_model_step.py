"""forward over a clip == step frame by frame; causality; constant-size state."""

import pytest
import torch

from worldsim.model import ModelConfig, WorldModel, state_nbytes, tiny_model_config

VARIANTS = [
    ("ssm+local", "blockwise"), ("ssm+local", "frame"), ("ssm+local", "token"),
    ("local", "blockwise"), ("full", "blockwise"), ("ssm", "blockwise"), ("ssm", "token"),
    ("pack+local", "blockwise"),
]
FIXED_STATE = ["ssm+local", "local", "ssm", "pack+local"]


def random_model(config: ModelConfig, seed: int = 0) -> WorldModel:
    """Zero-initialised gates/head would make every output 0; perturb all weights so tests bite."""
    torch.manual_seed(seed)
    model = WorldModel(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def random_clip(config: ModelConfig, batch: int, frames: int, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.rand(batch, frames, config.channels, config.image_height, config.image_width, generator=g) * 2 - 1,
        torch.rand(batch, frames, generator=g),
        torch.randint(0, config.num_discrete_actions, (batch, frames), generator=g),
        torch.randn(batch, frames, config.num_continuous_actions, generator=g),
    )


@pytest.mark.parametrize("temporal,scan", VARIANTS)
@torch.no_grad()
def test_step_matches_forward(temporal, scan):
    config = tiny_model_config(temporal=temporal, scan=scan)
    model = random_model(config)
    frames, noise, discrete, continuous = random_clip(config, batch=2, frames=6)  # 6 > attn_window = 2
    clip_out = model(frames, noise, discrete, continuous)
    assert clip_out.abs().mean() > 1e-2
    state = model.init_state(2)
    for t in range(frames.shape[1]):
        out = model.step(frames[:, t], noise[:, t], discrete[:, t], continuous[:, t], state, commit=True)
        torch.testing.assert_close(out, clip_out[:, t], rtol=1e-5, atol=1e-5)
    assert state.frame_index.tolist() == [6, 6]


@pytest.mark.parametrize("temporal", ["ssm+local", "full", "pack+local"])
@torch.no_grad()
def test_step_without_commit_reads_only(temporal):
    config = tiny_model_config(temporal=temporal)
    model = random_model(config)
    frames, noise, discrete, continuous = random_clip(config, batch=2, frames=4)
    state = model.init_state(2)
    for t in range(3):
        model.step(frames[:, t], noise[:, t], discrete[:, t], continuous[:, t], state, commit=True)
    before = [t.clone() for t in state.tensors()]
    args = (frames[:, 3], noise[:, 3], discrete[:, 3], continuous[:, 3], state)
    peek = model.step(*args, commit=False)
    again = model.step(*args, commit=False)
    for old, new in zip(before, state.tensors()):
        assert torch.equal(old, new)
    committed = model.step(*args, commit=True)
    torch.testing.assert_close(peek, again, rtol=0, atol=0)
    torch.testing.assert_close(peek, committed, rtol=1e-6, atol=1e-6)
    assert any(not torch.equal(old, new) for old, new in zip(before, state.tensors()) if old.shape == new.shape)


@pytest.mark.parametrize("temporal", ["ssm+local", "local", "full", "ssm", "pack+local"])
@torch.no_grad()
def test_forward_is_causal(temporal):
    config = tiny_model_config(temporal=temporal)
    model = random_model(config)
    frames, noise, discrete, continuous = random_clip(config, batch=1, frames=5)
    out = model(frames, noise, discrete, continuous)
    t = 2
    frames2, noise2, discrete2, continuous2 = frames.clone(), noise.clone(), discrete.clone(), continuous.clone()
    frames2[:, t + 1:] = -frames2[:, t + 1:]
    noise2[:, t + 1:] = 1 - noise2[:, t + 1:]
    discrete2[:, t + 1:] = (discrete2[:, t + 1:] + 1) % config.num_discrete_actions
    continuous2[:, t + 1:] += 1
    out2 = model(frames2, noise2, discrete2, continuous2)
    torch.testing.assert_close(out2[:, : t + 1], out[:, : t + 1], rtol=1e-6, atol=1e-6)
    assert (out2[:, t + 1:] - out[:, t + 1:]).abs().max() > 1e-3


@pytest.mark.parametrize("temporal", FIXED_STATE)
@torch.no_grad()
def test_clip_leaves_the_state_of_stepping_its_frames(temporal):
    config = tiny_model_config(temporal=temporal, pack_segment=3)  # 7 frames: a partial last segment
    model = random_model(config)
    frames, noise, discrete, continuous = random_clip(config, batch=2, frames=7)
    positions = torch.arange(7).expand(2, 7)
    _, clip_layers = model._run(frames, noise, discrete, continuous, positions, None)
    state = model.init_state(2)
    for t in range(7):
        model.step(frames[:, t], noise[:, t], discrete[:, t], continuous[:, t], state, commit=True)
    for stepped, clip in zip(state.layers, clip_layers):
        for name, value in vars(stepped).items():
            if value is not None:
                torch.testing.assert_close(getattr(clip, name), value, rtol=1e-5, atol=1e-5, msg=name)


def small_config(temporal: str) -> ModelConfig:
    return tiny_model_config(
        temporal=temporal, image_height=8, image_width=8, width=16, depth=1, ssm_headdim=8, block_sizes=[(1, 2)]
    )


def run_steps(model: WorldModel, state, count: int) -> None:
    frame = torch.zeros(1, 3, 8, 8)
    for _ in range(count):
        model.step(frame, torch.ones(1), torch.zeros(1, dtype=torch.long), torch.zeros(1, 2), state, commit=True)


@pytest.mark.parametrize("temporal", FIXED_STATE)
@torch.no_grad()
def test_state_size_is_constant(temporal):
    model = random_model(small_config(temporal))
    state = model.init_state(1)
    empty = state_nbytes(state)
    run_steps(model, state, 10)
    after_10 = state_nbytes(state)
    # 40 more frames: many times the attention window (2), the conv width (4), the scan chunk (8) and the
    # pack segment (4), so every ring buffer has wrapped and every pack been rewritten; the state is
    # fixed-shape buffers, so more frames would prove no more
    run_steps(model, state, 40)
    assert empty == after_10 == state_nbytes(state)
    assert int(state.frame_index) == 50


@torch.no_grad()
def test_full_attention_state_grows():
    model = random_model(small_config("full"))
    state = model.init_state(1)
    run_steps(model, state, 10)
    after_10 = state_nbytes(state)
    run_steps(model, state, 10)
    assert state_nbytes(state) > after_10
    assert state.layers[0].keys.shape[2] == 20
