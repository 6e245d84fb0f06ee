"""The compiled frame step (all Euler steps + the commit as one torch.compile graph) equals the eager one.

On the CPU the tests compile with backend='aot_eager': dynamo traces the frame (fullgraph, so a graph break
is an error) and AOTAutograd functionalises it, writing the state back into its input tensors, as under
inductor; inductor's own code generation (minutes of C++ compilation on a 2-core CPU) is checked by the
CUDA tests (tests/test_engine_cuda_graph.py).
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import pytest
import torch
import torch._dynamo
from torch import nn

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock, save_checkpoint
from worldsim.cli.play import add_play_arguments, build_world
from worldsim.diffusion.sampler import frame_noise, generate_frame
from worldsim.engine import frame_step
from worldsim.engine.frame_step import FrameStep
from worldsim.model import WorldModel, tiny_model_config


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Every test compiles its own model: no cache entries (and recompile limits) shared between tests."""
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    yield
    torch._dynamo.reset()


def perturbed_model(temporal: str, **overrides) -> WorldModel:
    """One layer (enough to trace every path of the variant), weights moved off their zero init so the
    frames depend on the model and the state."""
    torch.manual_seed(0)
    model = WorldModel(tiny_model_config(temporal=temporal, depth=1, **overrides)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model


def test_compiled_frame_step_equals_eager_and_writes_the_state_in_place():
    """pack+local (ssm+local: the next test): 4 frames with segments of 2 commit the frame-0 init and two
    squeezes; re-noised commits."""
    commit_noise_level = 0.9
    model = perturbed_model("pack+local")
    eager_state, compiled_state = model.init_state(1), model.init_state(1)
    storage = [tensor.data_ptr() for tensor in compiled_state.tensors()]
    step = FrameStep(model, compiled_state, 1, commit_noise_level, compiled=True, backend="aot_eager")
    generator = torch.Generator().manual_seed(0)
    for frame_index in range(4):
        discrete, continuous = torch.tensor([frame_index % 5]), torch.rand(1, 2, generator=generator)
        noise_generator = torch.Generator().manual_seed(frame_index)
        expected = generate_frame(model, eager_state, discrete, continuous, 1, noise_generator, commit_noise_level)
        noise, commit_noise = frame_noise(model, 1, torch.Generator().manual_seed(frame_index), commit_noise_level)
        got = step(noise, commit_noise, discrete, continuous)
        assert step.compiled, "the compiled step fell back (graph break or compiler error)"
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
        for compiled_tensor, eager_tensor in zip(compiled_state.tensors(), eager_state.tensors()):
            torch.testing.assert_close(compiled_tensor, eager_tensor, rtol=1e-6, atol=1e-6)
    assert compiled_state.frame_index.tolist() == [4]
    assert [tensor.data_ptr() for tensor in compiled_state.tensors()] == storage
    # the frames depend on the actions: a stale or unread input would not
    assert not torch.equal(step(noise, commit_noise, torch.tensor([1]), continuous), got)


def test_play_compile_flag_plays_the_frames_and_states_of_the_engine_without(monkeypatch, tmp_path):
    """`worldsim play --compile` on ssm+local: same seed, same frames and state; a reset zeroes the state in
    place, so the compiled step is reused (one graph)."""
    monkeypatch.setattr(frame_step, "COMPILE_BACKEND", "aot_eager")
    path = tmp_path / "tiny.safetensors"
    save_checkpoint(path, perturbed_model("ssm+local", num_discrete_actions=9, num_continuous_actions=1),
                    PlayBlock(maze_action_space(), (16, 16)))
    parser = argparse.ArgumentParser()
    add_play_arguments(parser)
    options = ["--checkpoint", str(path), "--device", "cpu", "--steps", "1", "--commit-noise", "0.95"]
    engines = {compile: build_world(parser.parse_args(options + (["--compile"] if compile else [])))
               for compile in (False, True)}
    actions = [(torch.tensor([a]), torch.tensor([[0.1 * a - 0.2]])) for a in (1, 4, 7)]
    played, storage = {}, []
    for compile, engine in engines.items():
        runs = []
        for _ in range(2):
            engine.reset(3)
            runs.append(torch.stack([engine.step(d, c)[0] for d, c in actions]))
            storage.append([tensor.data_ptr() for tensor in engine.state.tensors()])
        played[compile] = runs
        assert engine.compiled == compile and engine.hud_info().get("compile") == ("on" if compile else None)
    torch.testing.assert_close(played[True][0], played[False][0], rtol=0, atol=1)  # uint8 rounding
    torch.testing.assert_close(played[True][1], played[True][0], rtol=0, atol=0)  # the reset replays
    for compiled_tensor, eager_tensor in zip(engines[True].state.tensors(), engines[False].state.tensors()):
        torch.testing.assert_close(compiled_tensor, eager_tensor, rtol=1e-6, atol=1e-6)
    assert storage[2] == storage[3] and engines[True].state.frame_index.tolist() == [4]  # 1 context + 3 frames
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1


class HalvingModel(nn.Module):
    """velocity = -frame; commits count frames."""

    def __init__(self):
        super().__init__()
        self.config = SimpleNamespace(temporal="ssm+local", image_height=4, image_width=4)
        self.scale = nn.Parameter(torch.ones(()))

    def step(self, frame, noise_level, discrete, continuous, state, commit=False):
        if commit:
            state.frame_index.add_(1)
        return -self.scale * frame


def failing_backend(graph_module, example_inputs):
    raise RuntimeError("no compiler here")


def test_a_failed_compile_falls_back_to_the_eager_step_with_one_line(capsys):
    model = HalvingModel()
    state = SimpleNamespace(frame_index=torch.zeros(1, dtype=torch.long))
    step = FrameStep(model, state, 2, 1.0, compiled=True, backend=failing_backend)
    noise = torch.ones(1, 3, 4, 4)
    frame = step(noise, None, torch.zeros(1, dtype=torch.long), None)
    torch.testing.assert_close(frame, torch.full_like(noise, 0.25))  # two Euler steps of dt 0.5
    assert not step.compiled and state.frame_index.tolist() == [1]
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "torch.compile of the frame step failed" in lines[0]
    assert "no compiler here" in lines[0] and "playing uncompiled" in lines[0]
    step(noise, None, torch.zeros(1, dtype=torch.long), None)  # later calls: uncompiled, no new note
    assert state.frame_index.tolist() == [2] and capsys.readouterr().err == ""


def test_compiled_needs_a_fixed_shape_state():
    model = WorldModel(tiny_model_config(temporal="full", depth=1))
    with pytest.raises(ValueError, match="fixed-shape state"):
        FrameStep(model, model.init_state(1), 1, 1.0, compiled=True)
