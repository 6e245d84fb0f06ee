"""Odometry (model/odometry.py): a pose integrated from the actions reaches every frame after them, the
clip forward equals frame-by-frame steps, a model given odometry starts as the one without it, and weights
without odometry start a run with it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock, save_checkpoint
from worldsim.config import load_config
from worldsim.engine import WorldModelEngine
from worldsim.model import WorldModel, tiny_model_config
from worldsim.model.causal_conv import causal_depthwise_conv
from worldsim.model.ssm import BlockwiseMamba2
from worldsim.model.state import state_nbytes
from worldsim.train.config import TrainConfig
from worldsim.train.setup import build_run, make_optimizer

SMOKE = Path(__file__).resolve().parent / "smoke.yaml"


def _open(model: WorldModel) -> WorldModel:
    """Every zero-initialised weight (adaLN, output head, odometry projection) made random, so that the
    conditioning reaches the output."""
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            if bool((parameter == 0).all()):
                parameter.normal_(std=0.2)
    return model.eval()


def _inputs(length: int = 7) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    frames = torch.randn(2, length, 3, 16, 16, generator=generator)
    noise = torch.rand(2, length, generator=generator)
    discrete = torch.randint(0, 5, (2, length), generator=generator)
    continuous = torch.randn(2, length, 2, generator=generator)
    return frames, noise, discrete, continuous


@pytest.mark.parametrize("temporal", ["ssm+local", "local", "pack+local"])
def test_clip_forward_equals_frame_steps_and_the_state_holds_the_pose(temporal: str) -> None:
    model = _open(WorldModel(tiny_model_config(temporal=temporal, odometry_frequencies=4)))
    frames, noise, discrete, continuous = _inputs()
    state = model.init_state(2)
    with torch.no_grad():
        clip = model(frames, noise, discrete, continuous)
        steps = [model.step(frames[:, t], noise[:, t], discrete[:, t], continuous[:, t], state, commit=True)
                 for t in range(frames.shape[1])]
        poses = model.odometry.poses(discrete, continuous, (2, frames.shape[1]), torch.device("cpu"))
    torch.testing.assert_close(torch.stack(steps, 1), clip, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(state.pose, poses[:, -1])
    assert any(tensor is state.pose for tensor in state.tensors())  # copied and restored with the state


def test_an_action_reaches_frames_beyond_the_attention_only_through_odometry() -> None:
    """local, window 2, 3 layers: frame 0 reaches no further than frame 6; its action changes frame 9."""
    frames, noise, discrete, continuous = _inputs(10)
    changed = discrete.clone()
    changed[:, 0] = (changed[:, 0] + 1) % 5
    for frequencies, reaches in ((4, True), (0, False)):
        model = _open(WorldModel(tiny_model_config(temporal="local", odometry_frequencies=frequencies)))
        with torch.no_grad():
            difference = (model(frames, noise, discrete, continuous)[:, 9]
                          - model(frames, noise, changed, continuous)[:, 9]).abs().max()
        assert (difference > 1e-3) == reaches, (frequencies, float(difference))


def test_poses_integrate_turns_then_moves_along_the_heading() -> None:
    model = WorldModel(tiny_model_config(odometry_frequencies=2))
    odometry = model.odometry
    with torch.no_grad():
        odometry.turn.copy_(torch.tensor([0.0, math.pi / 2, 0.0, 0.0, 0.0]))  # action 1 turns a quarter
        odometry.advance.zero_()
        odometry.advance[2] = torch.tensor([1.0, 0.0])  # action 2: one unit forward
        odometry.advance[3] = torch.tensor([0.0, 1.0])  # action 3: one unit rightward
        odometry.turn_continuous.copy_(torch.tensor([1.0, 0.0]))  # radians per unit of continuous 0
    discrete = torch.tensor([[2, 1, 2, 3, 0]])
    continuous = torch.zeros(1, 5, 2)
    continuous[0, 4, 0] = 0.5
    poses = odometry.poses(discrete, continuous, (1, 5), torch.device("cpu"))[0]
    expected = torch.tensor([[0.0, 1.0, 0.0], [math.pi / 2, 1.0, 0.0], [math.pi / 2, 1.0, 1.0],
                             [math.pi / 2, 0.0, 1.0], [math.pi / 2 + 0.5, 0.0, 1.0]])
    torch.testing.assert_close(poses, expected, rtol=0, atol=1e-6)


def test_a_model_given_odometry_computes_what_it_computed_without() -> None:
    without = _open(WorldModel(tiny_model_config()))
    given = WorldModel(tiny_model_config(odometry_frequencies=4)).eval()
    missing, unexpected = given.load_state_dict(without.state_dict(), strict=False)
    assert not unexpected and missing
    assert all(name.startswith("odometry.") or name.endswith(".ssm.pose_gain") for name in missing), missing
    inputs = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(given(*inputs), without(*inputs), rtol=0, atol=1e-6)
    config = given.config
    scans = sum(2 * layer.ssm.num_blocks(config.token_grid) * layer.ssm.heads * layer.ssm.headdim
                for layer in given.layers)  # batch 2
    extra = 2 * 3 * 4 + scans * config.pose_key_size * 4  # the pose, and the scans' key dimensions (fp32)
    assert state_nbytes(given.init_state(2)) == state_nbytes(without.init_state(2)) + extra


def test_the_moves_are_not_weight_decayed() -> None:
    named = list(WorldModel(tiny_model_config(odometry_frequencies=2)).named_parameters())
    optimizer = make_optimizer(named, TrainConfig(), fused=False)
    decayed = {id(p) for group in optimizer.param_groups if group["weight_decay"] > 0 for p in group["params"]}
    by_name = {name: id(p) in decayed for name, p in named}
    assert not by_name["odometry.advance"] and not by_name["odometry.turn"]
    assert by_name["odometry.project.0.weight"]


def test_weights_without_odometry_start_a_run_with_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = load_config(TrainConfig, SMOKE, [])
    source = WorldModel(config.model)
    path = tmp_path / "plain.safetensors"
    save_checkpoint(path, source, PlayBlock(maze_action_space(), (16, 16)), {"step": 1})
    run = build_run(load_config(TrainConfig, SMOKE, [f"init_from={path}", "model.odometry_frequencies=4"]),
                    tmp_path / "run", resume=False, device=torch.device("cpu"))
    assert run.model.odometry is not None and "odometry" in (run.init_summary or "")
    torch.testing.assert_close(run.model.head.linear.weight, source.head.linear.weight)
    back = load_config(TrainConfig, SMOKE, [f"init_from={path}", "model.odometry_frequencies=0"])
    assert build_run(back, tmp_path / "run2", resume=False, device=torch.device("cpu")).model.odometry is None


def test_the_scan_writes_each_frame_under_its_pose_features() -> None:
    """With no decay, the scan state's pose dimensions hold the sum over tokens of dt·x·keyᵀ: what each frame
    wrote, filed under its own pose, ready for a later frame at the same pose to read with the same key."""
    torch.manual_seed(0)
    scan = BlockwiseMamba2(16, (2, 2), d_state=4, headdim=8, expand=2, chunk_size=8, backend="torch", pose_keys=6)
    with torch.no_grad():
        scan.A_log.fill_(-30.0)  # A ~ 0: nothing decays
    x = torch.randn(1, 3, 2, 2, 16)
    keys = torch.randn(1, 3, 6)
    _, _, state = scan(x, pose_keys=keys)
    # the same quantities the scan sees: x and dt per token, time-major (frame 0's 4 tokens, then frame 1's)
    _, xbc, dt = torch.split(scan.in_proj(x.reshape(1, 12, 16)), [scan.d_inner, scan.conv_dim, scan.heads], -1)
    conv, _ = causal_depthwise_conv(xbc, scan.conv1d.weight, scan.conv1d.bias, None)
    values = torch.nn.functional.silu(conv)[..., :scan.d_inner].reshape(1, 12, scan.heads, scan.headdim)
    dt = torch.nn.functional.softplus(dt + scan.dt_bias)  # (1, 12, heads)
    token_keys = keys.repeat_interleave(4, dim=1)  # (1, 12, 6)
    expected = torch.einsum("blh,blhp,blk->bhpk", dt, values, token_keys)
    torch.testing.assert_close(state[..., scan.d_state:], expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="pose_keys"):
        scan(x)


def test_a_checkpoint_with_odometry_plays_and_a_reset_starts_the_pose_again(tmp_path: Path) -> None:
    model = _open(WorldModel(tiny_model_config(num_discrete_actions=9, num_continuous_actions=1,
                                               odometry_frequencies=4)))
    path = tmp_path / "odometry.safetensors"
    save_checkpoint(path, model, PlayBlock(maze_action_space(), (16, 16), sampling_steps=1))
    engine = WorldModelEngine.from_checkpoint(path, device="cpu", steps=1)
    moves = [(torch.tensor([a]), torch.tensor([[0.1 * a]])) for a in (1, 3, 3, 1, 4)]
    runs, starts = [], []
    for _ in range(2):
        engine.reset(5)  # commits the first frame: the pose after it (a no-op's learned move)
        starts.append(engine.state.pose.clone())
        runs.append([engine.step(d, c)[0] for d, c in moves])
        assert not torch.equal(engine.state.pose, starts[-1])
    torch.testing.assert_close(starts[0], starts[1], rtol=0, atol=0)
    for first, second in zip(*runs):
        torch.testing.assert_close(first, second, rtol=0, atol=0)


@torch.no_grad()
def test_a_model_cast_to_bf16_still_steps() -> None:
    """Play may cast the whole model to bf16: the pose and its features stay float32."""
    model = _open(WorldModel(tiny_model_config(odometry_frequencies=4))).to(torch.bfloat16)
    frames, noise, discrete, continuous = _inputs(3)
    state = model.init_state(2)
    for t in range(3):
        out = model.step(frames[:, t].bfloat16(), noise[:, t].bfloat16(), discrete[:, t], continuous[:, t].bfloat16(),
                         state, commit=True)
    assert out.dtype == torch.bfloat16 and state.pose.dtype == torch.float32 and bool(torch.isfinite(out).all())
