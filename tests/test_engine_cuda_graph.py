import pytest
import torch

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock, save_checkpoint
from worldsim.diffusion.sampler import generate_frame
from worldsim.engine import MazeContext, WorldModelEngine
from worldsim.engine.cuda_graph import GraphedFrameGenerator
from worldsim.engine.frame_step import FrameStep
from worldsim.env.maze_world import MazeConfig
from worldsim.frames import to_model
from worldsim.model import ModelConfig, WorldModel, tiny_model_config

pytestmark = pytest.mark.cuda


@pytest.fixture(scope="module", params=["ssm+local", "pack+local"])
def checkpoint(request, tmp_path_factory):
    torch.manual_seed(0)
    config = tiny_model_config(temporal=request.param, num_discrete_actions=9, num_continuous_actions=1)
    model = WorldModel(config)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(path, model, PlayBlock(maze_action_space(), (16, 16)))
    return path


def rollout(engine: WorldModelEngine, frames: int) -> torch.Tensor:
    engine.reset(3)
    generator = torch.Generator().manual_seed(0)
    out = []
    for _ in range(frames):
        discrete = torch.randint(0, 9, (1,), generator=generator)
        continuous = torch.rand(1, 1, generator=generator) * 0.5 - 0.25
        out.append(engine.step(discrete, continuous)[0].clone())
    return torch.stack(out)


def test_graph_replay_equals_eager(checkpoint):
    eager = WorldModelEngine.from_checkpoint(checkpoint, "cuda", steps=3, use_cuda_graph=False)
    graphed = WorldModelEngine.from_checkpoint(checkpoint, "cuda", steps=3)
    assert graphed.use_cuda_graph and not eager.use_cuda_graph
    # eager uses a private generator; make it draw the default CUDA stream the graph replays
    eager._seed_noise = lambda seed: (torch.cuda.manual_seed(seed), setattr(eager, "generator", None))
    expected = rollout(eager, 12)
    got = rollout(graphed, 12)
    assert (got.int() - expected.int()).abs().max() <= 1  # uint8 rounding of float-identical math
    graphed.steps = 2  # recapture with another number of steps
    eager.steps = 2
    assert (rollout(graphed, 4).int() - rollout(eager, 4).int()).abs().max() <= 1


def test_memory_is_constant_over_2000_frames(checkpoint):
    engine = WorldModelEngine.from_checkpoint(checkpoint, "cuda", steps=2)
    engine.reset(0)
    noop = torch.zeros(1, dtype=torch.long)
    for _ in range(100):
        engine.step(noop)
    torch.cuda.synchronize()
    early = torch.cuda.memory_allocated()
    for _ in range(1900):
        engine.step(noop)
    torch.cuda.synchronize()
    assert torch.cuda.memory_allocated() == early


def test_a_step_with_host_actions_does_not_wait_for_the_gpu(checkpoint):
    """Actions are checked on the host and copied asynchronously: no device sync on the hot path."""
    engine = WorldModelEngine.from_checkpoint(checkpoint, device="cuda", steps=2)
    engine.reset(0)
    engine.step(torch.tensor([1]), torch.zeros(1, 1))  # the first step captures the graph (which syncs)
    torch.cuda.set_sync_debug_mode("error")
    try:
        for action in range(3):
            engine.step(torch.tensor([action]), torch.full((1, 1), 0.1))
    finally:
        torch.cuda.set_sync_debug_mode("default")
    with pytest.raises(ValueError, match="out of range"):
        engine.step(torch.tensor([9]), torch.zeros(1, 1))


def perturbed(model: WorldModel, seed: int = 0) -> WorldModel:
    """Weights moved off their zero init (output head, adaLN gates), so frames depend on model and state."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model.cuda().eval()


def rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm().clamp_min(1e-12))


# 9 committed frames: pack+local rewrites its pack twice (segments of 4)
@pytest.mark.parametrize("temporal", ["ssm+local", "pack+local"])
@torch.no_grad()
def test_compiled_graph_replay_matches_eager(temporal):
    """torch.compile (inductor, the Triton scan inside its graph) + CUDA graph replay vs eager generate_frame,
    fp32: fused kernels round differently, so a relative error, not equality."""
    torch.manual_seed(0)
    model = perturbed(WorldModel(ModelConfig(temporal=temporal, depth=2)))
    graph_state, eager_state = model.init_state(1), model.init_state(1)
    storage = [tensor.data_ptr() for tensor in graph_state.tensors()]
    graphed = GraphedFrameGenerator(FrameStep(model, graph_state, 2, 0.95, compiled=True), batch_size=1)
    assert graphed.frame_step.compiled
    actions = [(torch.tensor([t % 9], device="cuda"), torch.full((1, 1), 0.05 * t - 0.2, device="cuda"))
               for t in range(9)]
    torch.cuda.manual_seed(7)  # the graph and generate_frame draw the default CUDA generator's noise
    replayed = [graphed(*action).clone() for action in actions]
    torch.cuda.manual_seed(7)
    eager = [generate_frame(model, eager_state, *action, 2, None, 0.95) for action in actions]
    for t, (got, expected) in enumerate(zip(replayed, eager)):
        assert rel_error(got, expected) < 1e-3, t
    for got, expected in zip(graph_state.tensors(), eager_state.tensors()):
        assert rel_error(got, expected) < 1e-3
    assert [tensor.data_ptr() for tensor in graph_state.tensors()] == storage
    assert int(graph_state.frame_index) == int(eager_state.frame_index) == 9


def test_engine_with_compile_plays_the_frames_of_the_engine_without():
    """Same seed, same frames under bf16 autocast, within bf16 rounding (inductor keeps fused intermediates
    in fp32 where eager rounds each op to bf16)."""
    torch.manual_seed(0)
    model = perturbed(WorldModel(tiny_model_config(num_discrete_actions=9, num_continuous_actions=1)))
    space = maze_action_space()
    context = MazeContext(MazeConfig(height=16, width=16), space)
    plain = WorldModelEngine(model, space, context, steps=3)
    compiled = WorldModelEngine(model, space, context, steps=3, compile=True)
    expected, got = rollout(plain, 12), rollout(compiled, 12)
    assert compiled.compiled and compiled.use_cuda_graph and compiled.hud_info()["compile"] == "on"
    assert rel_error(to_model(got), to_model(expected)) < 3e-2
    assert (got.int() - expected.int()).abs().float().mean() < 1.0  # uint8 levels
