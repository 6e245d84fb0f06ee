"""First frames of a session in the built-in maze (engine.priming.MazeContext): the action-space check, the
look-around priming and play's --look-around."""

import pytest
import torch

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock, save_checkpoint
from worldsim.cli import main
from worldsim.engine import MazeContext, WorldModelEngine
from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.model import WorldModel, tiny_model_config

MAZE = maze_action_space()


def test_maze_context_checks_the_action_space_without_building_a_maze(monkeypatch):
    from worldsim.engine import priming

    monkeypatch.setattr(priming, "MazeWorld", None)  # constructing one here would fail
    MazeContext(MazeConfig(height=16, width=16), MAZE)
    with pytest.raises(ValueError, match="differs from the built-in maze"):
        MazeContext(MazeConfig(height=16, width=16, continuous_yaw=False), MAZE)


def test_maze_context_looks_around_once_and_ends_on_the_first_view():
    config = MazeConfig(size=5, height=16, width=16)
    one = MazeContext(config, MAZE, look_around=False).context(seed=3, batch_size=2)
    around = MazeContext(config, MAZE, look_around=True).context(seed=3, batch_size=2)
    assert one.frames.shape == (2, 1, 16, 16, 3) and around.frames.shape == (2, 27, 16, 16, 3)  # ceil(tau/0.25)+1
    assert torch.equal(around.frames[:, 0], one.frames[:, 0])
    assert torch.equal(around.frames[:, -1], one.frames[:, 0])  # a full turn: back to the start view
    assert (around.frames[:, 13].float() - one.frames[:, 0].float()).abs().mean() > 10  # facing the other way
    assert around.discrete.shape == (2, 27) and around.continuous.shape == (2, 27, 1)
    assert around.continuous[:, 0].abs().sum() == 0 and (around.continuous[:, 1:] > 0).all()
    world = MazeWorld(config, batch_size=2)  # the player starts where the truth does
    frames, _ = world.reset(3)
    assert torch.equal(frames.cpu(), around.frames[:, -1])


def test_play_primes_the_model_with_a_look_around_when_asked(tmp_path, monkeypatch):
    checkpoint = tmp_path / "maze.safetensors"
    model = WorldModel(tiny_model_config(num_discrete_actions=9, num_continuous_actions=1))
    save_checkpoint(checkpoint, model, PlayBlock(MAZE, (16, 16), maze=MazeConfig(size=5, height=16, width=16)))
    seen = []
    original = WorldModelEngine.from_checkpoint.__func__

    def spy(cls, *args, **kwargs):
        engine = original(cls, *args, **kwargs)
        seen.append(engine.context_source.look_around)
        return engine

    monkeypatch.setattr(WorldModelEngine, "from_checkpoint", classmethod(spy))
    for extra in ([], ["--look-around"]):
        out = tmp_path / f"play{len(extra)}.mp4"
        argv = ["play", "--checkpoint", str(checkpoint), "--device", "cpu", "--steps", "1", "--headless",
                "--policy", "wander", "--frames", "2", "--out", str(out), *extra]
        assert main(argv) == 0
    assert seen == [False, True]
